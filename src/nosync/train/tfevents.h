// TensorBoard event files, written without TensorFlow or libprotobuf: five protobuf fields are
// small enough to encode by hand. libprotobuf is on the link line only as a dependency of
// Debian's libtorch; using it would take protoc-generated classes (a build step and a header
// dependency nosync has nowhere else) for what is a few varints and length prefixes.
//
// An events file is a sequence of TFRecords: uint64 length (little-endian), masked CRC-32C of
// those 8 bytes, the data, masked CRC-32C of the data (mask = ((crc >> 15) | (crc << 17)) +
// 0xa282ead8). Each record's data is a protobuf `Event` (tensorflow/core/util/event.proto):
// wall_time = 1 (double), step = 2 (int64), file_version = 3 (string, "brain.Event:2" in the first
// record), summary = 5 (`Summary`: value = 1, repeated `Value`: tag = 1 string, simple_value = 2
// float). Which metrics records become which scalars is train/scalars.h's business.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace nosync::train {

namespace tfevents {

// Protobuf base-128 varint of `value` appended to `out` (an int64 is sent as its two's
// complement: a negative step takes 10 bytes, as protobuf does).
void put_varint(std::string& out, uint64_t value);

// The TFRecord checksum of `bytes`: CRC-32C, rotated right by 15 bits, plus 0xa282ead8.
uint32_t masked_crc32c(std::string_view bytes);

// One TFRecord around `data` (length, its masked CRC, data, their masked CRC).
std::string frame_record(std::string_view data);

struct Scalar {
  std::string tag;  // "p0/train/loss"
  float value = 0;
};

// Event messages (protobuf bytes, not framed).
std::string file_version_event(double wall_time);
std::string scalars_event(double wall_time, int64_t step, const std::vector<Scalar>& scalars);

// "events.out.tfevents.<unix seconds>.<host>.<pid>": TensorBoard reads every file whose name
// holds "tfevents" and orders a directory's files by name; the pid keeps two processes started
// in the same second on the same host apart (a quick resume).
std::string event_file_name(double wall_time, const std::string& host, long pid);
// dir/event_file_name(now, this host, this process).
std::string new_event_file_path(const std::string& dir);

}  // namespace tfevents

// Appends framed events to one file, buffered until flush(). Never throws on I/O: the first
// failure is kept in error() and nothing more is written, so a full disk costs the TensorBoard
// view, not the run (metrics.jsonl decides whether the run goes on).
class EventFileWriter {
 public:
  // Creates `path` (it must not exist yet) and writes the file_version record.
  explicit EventFileWriter(std::string path);
  ~EventFileWriter();  // flushes and closes
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  void write_scalars(int64_t step, const std::vector<tfevents::Scalar>& scalars);
  void flush();  // to the kernel (fflush): what a killed process leaves is complete records
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }  // empty while every write succeeded

 private:
  void write_record(const std::string& event);
  void fail(const char* what, int err);

  std::string path_;
  std::FILE* file_ = nullptr;
  std::string error_;
};

}  // namespace nosync::train
