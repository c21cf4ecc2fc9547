// Builders for small IDX / CIFAR / gzip files used by the data tests.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nosync/util/error.h"

namespace nosync::testing {

inline void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// IDX image file: n images of h x w, pixel (i, y, x) = pixel(i, y, x).
inline std::vector<uint8_t> idx_images(uint32_t n, uint32_t h, uint32_t w,
                                       const std::function<uint8_t(uint32_t, uint32_t, uint32_t)>& pixel) {
  std::vector<uint8_t> out;
  put_be32(out, 0x00000803);
  put_be32(out, n);
  put_be32(out, h);
  put_be32(out, w);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t y = 0; y < h; ++y)
      for (uint32_t x = 0; x < w; ++x) out.push_back(pixel(i, y, x));
  return out;
}

inline uint8_t test_pixel(uint32_t i, uint32_t y, uint32_t x) { return static_cast<uint8_t>(i * 31 + y * 7 + x * 3); }

inline std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> out;
  put_be32(out, 0x00000801);
  put_be32(out, static_cast<uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// gzip (not zlib) stream of `in`.
inline std::vector<uint8_t> gzip(const std::vector<uint8_t>& in, int level = 6) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::vector<uint8_t> out(deflateBound(&zs, static_cast<uLong>(in.size())) + 64);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  return out;
}

// CIFAR-10 records: label, then 3072 pixels with pixel(record, k).
inline std::vector<uint8_t> cifar_records(const std::vector<uint8_t>& labels, uint8_t salt = 0) {
  std::vector<uint8_t> out;
  for (size_t r = 0; r < labels.size(); ++r) {
    out.push_back(labels[r]);
    for (int k = 0; k < 3072; ++k) out.push_back(static_cast<uint8_t>(r * 13 + k * 5 + salt));
  }
  return out;
}

// Runs `fn`, expects a UserError whose what() contains every string in `needles`; returns the
// message (and prints it, so the test log shows what users would see).
inline std::string expect_user_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
  } catch (const nosync::UserError& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "missing \"" << n << "\" in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
    std::cout << "    UserError: " << nosync::one_line(e) << "\n";
    return msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected UserError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected UserError, nothing was thrown";
  return {};
}

}  // namespace nosync::testing
