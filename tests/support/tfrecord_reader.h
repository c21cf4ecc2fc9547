// A small reader of TensorBoard event files for the tests: TFRecord frames with both CRCs
// checked, and the Event fields nosync writes (train/tfevents.h). Independent of the writer's
// encoder: it decodes the protobuf wire format field by field.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nosync::testing {

struct ReadEvent {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::vector<std::pair<std::string, float>> scalars;  // tag -> simple_value
};

struct ReadEvents {
  std::vector<ReadEvent> events;
  std::string error;  // the first bad frame or field (empty: the whole file read cleanly)
};

// Splits `bytes` into TFRecord payloads; stops at the first bad length CRC, data CRC or torn frame.
std::vector<std::string> read_tfrecords(const std::string& bytes, std::string* error);
ReadEvent decode_event(const std::string& payload);  // throws std::runtime_error on bad bytes
ReadEvents read_event_file(const std::string& path);

}  // namespace nosync::testing
