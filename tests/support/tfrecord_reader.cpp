#include "support/tfrecord_reader.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "nosync/util/crc32c.h"

namespace nosync::testing {
namespace {

uint32_t masked(const std::string& bytes) {
  const uint32_t c = util::crc32c(bytes);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

uint64_t little_endian(const std::string& bytes, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}

class Wire {
 public:
  explicit Wire(const std::string& bytes) : b_(bytes) {}
  bool done() const { return at_ >= b_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      need(1);
      const auto byte = static_cast<unsigned char>(b_[at_++]);
      v |= static_cast<uint64_t>(byte & 0x7Fu) << shift;
      if ((byte & 0x80u) == 0) return v;
    }
    throw std::runtime_error("varint longer than 10 bytes");
  }
  uint64_t fixed(size_t n) {
    need(n);
    const uint64_t v = little_endian(b_, at_, n);
    at_ += n;
    return v;
  }
  std::string bytes() {
    const uint64_t n = varint();
    need(n);
    std::string s = b_.substr(at_, n);
    at_ += n;
    return s;
  }

 private:
  void need(uint64_t n) const {
    if (at_ + n > b_.size()) throw std::runtime_error("field runs past the end of its message");
  }
  const std::string& b_;
  size_t at_ = 0;
};

std::pair<std::string, float> decode_value(const std::string& bytes) {
  Wire w(bytes);
  std::pair<std::string, float> v;
  while (!w.done()) {
    const uint64_t key = w.varint();
    if (key == (1 << 3 | 2)) {
      v.first = w.bytes();
    } else if (key == (2 << 3 | 5)) {
      const auto bits = static_cast<uint32_t>(w.fixed(4));
      std::memcpy(&v.second, &bits, 4);
    } else {
      throw std::runtime_error("unexpected Summary.Value field key " + std::to_string(key));
    }
  }
  return v;
}

}  // namespace

std::vector<std::string> read_tfrecords(const std::string& bytes, std::string* error) {
  std::vector<std::string> out;
  size_t at = 0;
  auto bad = [&](const std::string& what) {
    *error = what + " at byte " + std::to_string(at);
    return out;
  };
  while (at < bytes.size()) {
    if (bytes.size() - at < 12) return bad("torn frame header");
    const std::string length = bytes.substr(at, 8);
    if (static_cast<uint32_t>(little_endian(bytes, at + 8, 4)) != masked(length)) return bad("bad length CRC");
    const uint64_t n = little_endian(bytes, at, 8);
    if (bytes.size() - at - 12 < n + 4) return bad("torn frame data");
    const std::string data = bytes.substr(at + 12, n);
    if (static_cast<uint32_t>(little_endian(bytes, at + 12 + n, 4)) != masked(data)) return bad("bad data CRC");
    out.push_back(data);
    at += 12 + n + 4;
  }
  return out;
}

ReadEvent decode_event(const std::string& payload) {
  Wire w(payload);
  ReadEvent e;
  while (!w.done()) {
    const uint64_t key = w.varint();
    if (key == (1 << 3 | 1)) {
      const uint64_t bits = w.fixed(8);
      std::memcpy(&e.wall_time, &bits, 8);
    } else if (key == (2 << 3 | 0)) {
      e.step = static_cast<int64_t>(w.varint());
    } else if (key == (3 << 3 | 2)) {
      e.file_version = w.bytes();
    } else if (key == (5 << 3 | 2)) {
      const std::string summary = w.bytes();
      Wire s(summary);
      while (!s.done()) {
        if (s.varint() != (1 << 3 | 2)) throw std::runtime_error("unexpected Summary field");
        e.scalars.push_back(decode_value(s.bytes()));
      }
    } else {
      throw std::runtime_error("unexpected Event field key " + std::to_string(key));
    }
  }
  return e;
}

ReadEvents read_event_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  ReadEvents r;
  for (const std::string& payload : read_tfrecords(ss.str(), &r.error)) {
    try {
      r.events.push_back(decode_event(payload));
    } catch (const std::exception& e) {
      r.error = e.what();
      break;
    }
  }
  return r;
}

}  // namespace nosync::testing
