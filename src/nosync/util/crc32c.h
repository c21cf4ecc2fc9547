// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord framing
// (train/tfevents.h) and of iSCSI (RFC 3720). Table-driven, one byte at a time: the event files
// it guards hold a few kilobytes per evaluation, far from any speed that would matter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nosync::util {

// CRC-32C of `bytes` bytes at `data`, continuing from `crc` (the result for the bytes before):
// crc32c(ab) == crc32c(b, crc32c(a)). crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t bytes, uint32_t crc = 0);
inline uint32_t crc32c(std::string_view text, uint32_t crc = 0) { return crc32c(text.data(), text.size(), crc); }

}  // namespace nosync::util
