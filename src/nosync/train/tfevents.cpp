// Hand-encoded protobuf Event messages in TFRecord framing (tfevents.h for the layout).
#include "nosync/train/tfevents.h"

#include <fcntl.h>
#include <unistd.h>

#include <climits>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "nosync/util/crc32c.h"

namespace nosync::train {
namespace {

// Event.wall_time is calendar time (TensorBoard's "relative" and "wall" axes), not a duration,
// so it comes from the system clock rather than util::Clock.
double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

namespace tfevents {
namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

void put_key(std::string& out, uint32_t field, uint32_t wire_type) { put_varint(out, (field << 3) | wire_type); }

template <typename T>
void put_little_endian(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

void put_double(std::string& out, uint32_t field, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed64);
  put_little_endian(out, bits);
}

void put_float(std::string& out, uint32_t field, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed32);
  put_little_endian(out, bits);
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// Event fields.
constexpr uint32_t kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5;
// Summary.value and Summary.Value fields.
constexpr uint32_t kSummaryValue = 1, kTag = 1, kSimpleValue = 2;

std::string event_head(double wall_time, int64_t step) {
  std::string e;
  put_double(e, kWallTime, wall_time);
  put_key(e, kStep, kVarint);
  put_varint(e, static_cast<uint64_t>(step));
  return e;
}

}  // namespace

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7Fu) | 0x80u));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

uint32_t masked_crc32c(std::string_view bytes) {
  const uint32_t crc = util::crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string frame_record(std::string_view data) {
  std::string length;
  put_little_endian(length, static_cast<uint64_t>(data.size()));
  std::string out = length;
  put_little_endian(out, masked_crc32c(length));
  out.append(data);
  put_little_endian(out, masked_crc32c(data));
  return out;
}

std::string file_version_event(double wall_time) {
  std::string e = event_head(wall_time, 0);
  put_bytes(e, kFileVersion, "brain.Event:2");
  return e;
}

std::string scalars_event(double wall_time, int64_t step, const std::vector<Scalar>& scalars) {
  std::string summary;
  for (const Scalar& s : scalars) {
    std::string value;
    put_bytes(value, kTag, s.tag);
    put_float(value, kSimpleValue, s.value);
    put_bytes(summary, kSummaryValue, value);
  }
  std::string e = event_head(wall_time, step);
  put_bytes(e, kSummary, summary);
  return e;
}

std::string event_file_name(double wall_time, const std::string& host, long pid) {
  return fmt::format("events.out.tfevents.{}.{}.{}", static_cast<int64_t>(std::floor(wall_time)), host, pid);
}

std::string new_event_file_path(const std::string& dir) {
  return dir + "/" + event_file_name(unix_seconds(), host_name(), static_cast<long>(::getpid()));
}

}  // namespace tfevents

EventFileWriter::EventFileWriter(std::string path) : path_(std::move(path)) {
  // O_EXCL: an events file is never appended to by a second writer (TensorBoard would read a
  // second file_version record in the middle).
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail("create", errno);
    return;
  }
  file_ = ::fdopen(fd, "w");
  if (file_ == nullptr) {
    fail("open", errno);
    ::close(fd);
    return;
  }
  write_record(tfevents::file_version_event(unix_seconds()));
}

EventFileWriter::~EventFileWriter() {
  flush();
  if (file_ != nullptr) std::fclose(file_);
}

void EventFileWriter::write_scalars(int64_t step, const std::vector<tfevents::Scalar>& scalars) {
  if (!scalars.empty()) write_record(tfevents::scalars_event(unix_seconds(), step, scalars));
}

void EventFileWriter::write_record(const std::string& event) {
  if (file_ == nullptr || !error_.empty()) return;
  const std::string record = tfevents::frame_record(event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) fail("write", errno);
}

void EventFileWriter::flush() {
  if (file_ == nullptr || !error_.empty()) return;
  if (std::fflush(file_) != 0) fail("write", errno);
}

void EventFileWriter::fail(const char* what, int err) {
  if (error_.empty()) error_ = fmt::format("{}: {} failed: {}", path_, what, std::strerror(err));
}

}  // namespace nosync::train
