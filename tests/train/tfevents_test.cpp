// TensorBoard event files: protobuf varints, Event bytes checked by hand against the wire format,
// TFRecord framing, and a written file read back by the independent test reader.
#include "nosync/train/tfevents.h"

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_support.h"
#include "support/tfrecord_reader.h"

namespace nosync::train {
namespace {

using nosync::testing::TempDir;

std::string bytes_of(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::string varint(uint64_t v) {
  std::string s;
  tfevents::put_varint(s, v);
  return s;
}

TEST(TfEventsTest, Varints) {
  EXPECT_EQ(varint(0), bytes_of({0x00}));
  EXPECT_EQ(varint(1), bytes_of({0x01}));
  EXPECT_EQ(varint(127), bytes_of({0x7F}));
  EXPECT_EQ(varint(128), bytes_of({0x80, 0x01}));
  EXPECT_EQ(varint(300), bytes_of({0xAC, 0x02}));
  EXPECT_EQ(varint(16384), bytes_of({0x80, 0x80, 0x01}));
  // int64 -1 as protobuf sends it: ten bytes, nine 0xFF then 0x01.
  EXPECT_EQ(varint(static_cast<uint64_t>(int64_t{-1})),
            bytes_of({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  EXPECT_EQ(varint(std::numeric_limits<uint64_t>::max()).size(), 10u);
}

TEST(TfEventsTest, MaskedCrcIsTheRotatedCrcPlusTheConstant) {
  // crc32c("123456789") = 0xE3069283: rotated right by 15 = 0x25071C0D, + 0xA282EAD8 = 0xC78AB0E5.
  EXPECT_EQ(tfevents::masked_crc32c("123456789"), 0xC78AB0E5u);
}

TEST(TfEventsTest, FrameLayout) {
  const std::string f = tfevents::frame_record("abc");
  ASSERT_EQ(f.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(f.substr(0, 8), bytes_of({3, 0, 0, 0, 0, 0, 0, 0}));  // uint64 length, little-endian
  // masked crc32c of the 8 length bytes, then of "abc" (crc32c("abc") = 0x364B3FB7), little-endian.
  EXPECT_EQ(f.substr(8, 4), bytes_of({0xB0, 0x99, 0x49, 0x0E}));
  EXPECT_EQ(f.substr(12, 3), "abc");
  EXPECT_EQ(f.substr(15, 4), bytes_of({0x6E, 0x57, 0xF1, 0x21}));
}

TEST(TfEventsTest, ScalarEventBytes) {
  // wall_time 1.5 (field 1, fixed64), step 3 (field 2, varint), summary (field 5) holding one
  // value (field 1) with tag "a" (field 1) and simple_value 2.0f (field 2, fixed32).
  const std::string expected = bytes_of({0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F,  // 1.5
                                         0x10, 0x03,                           // step
                                         0x2A, 0x0A,                           // summary, 10 bytes
                                         0x0A, 0x08,                           // value, 8 bytes
                                         0x0A, 0x01, 'a',                      // tag
                                         0x15, 0x00, 0x00, 0x00, 0x40});       // 2.0f
  EXPECT_EQ(tfevents::scalars_event(1.5, 3, {{"a", 2.0f}}), expected);
  const std::string version = tfevents::file_version_event(1.5);
  EXPECT_EQ(version.substr(9), bytes_of({0x10, 0x00, 0x1A, 13}) + "brain.Event:2");
}

TEST(TfEventsTest, FileNameAsTensorBoardExpects) {
  EXPECT_EQ(tfevents::event_file_name(1700000000.75, "node1", 42), "events.out.tfevents.1700000000.node1.42");
  TempDir tmp;
  const std::string path = tfevents::new_event_file_path(tmp.path());
  EXPECT_EQ(std::filesystem::path(path).parent_path(), tmp.path());
  EXPECT_NE(path.find("/events.out.tfevents."), std::string::npos);
}

TEST(TfEventsTest, WrittenFileReadsBack) {
  TempDir tmp;
  const std::string path = tmp.file("events.out.tfevents.1.host.1");
  {
    EventFileWriter w(path);
    w.write_scalars(10, {{"p0/train/loss", 0.5f}, {"p0/train/lr", 0.1f}});
    w.write_scalars(-2, {{"x", -1.25f}});
    w.write_scalars(20, {});  // nothing to write: no event
    w.flush();
    EXPECT_EQ(w.error(), "");
    // Flushed records are on disk before the writer closes.
    const auto early = nosync::testing::read_event_file(path);
    EXPECT_EQ(early.error, "");
    EXPECT_EQ(early.events.size(), 3u);
  }
  const auto r = nosync::testing::read_event_file(path);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].file_version, "brain.Event:2");
  EXPECT_GT(r.events[0].wall_time, 1.6e9);
  EXPECT_EQ(r.events[1].step, 10);
  ASSERT_EQ(r.events[1].scalars.size(), 2u);
  EXPECT_EQ(r.events[1].scalars[0], std::make_pair(std::string("p0/train/loss"), 0.5f));
  EXPECT_EQ(r.events[1].scalars[1], std::make_pair(std::string("p0/train/lr"), 0.1f));
  EXPECT_EQ(r.events[2].step, -2);
  EXPECT_EQ(r.events[2].scalars.at(0).second, -1.25f);
  EXPECT_GE(r.events[2].wall_time, r.events[1].wall_time);
}

TEST(TfEventsTest, ReaderRejectsACorruptFrame) {
  std::string frames = tfevents::frame_record("hello") + tfevents::frame_record("world");
  std::string error;
  EXPECT_EQ(nosync::testing::read_tfrecords(frames, &error).size(), 2u);
  EXPECT_EQ(error, "");
  frames[frames.size() - 6] ^= 1;  // a bit of "world"
  EXPECT_EQ(nosync::testing::read_tfrecords(frames, &error).size(), 1u);
  EXPECT_NE(error.find("bad data CRC"), std::string::npos) << error;
}

TEST(TfEventsTest, WriteErrorsAreKeptNotThrown) {
  TempDir tmp;
  {  // an existing file is never appended to
    nosync::testing::write_bytes(tmp.file("taken"), {1, 2, 3});
    EventFileWriter w(tmp.file("taken"));
    EXPECT_NE(w.error().find("create failed"), std::string::npos) << w.error();
    w.write_scalars(1, {{"a", 1.0f}});
    w.flush();
    EXPECT_EQ(nosync::testing::read_bytes(tmp.file("taken")).size(), 3u);
  }
  {  // a directory that does not exist
    EventFileWriter w(tmp.file("missing/events.out.tfevents.1.h.1"));
    EXPECT_NE(w.error().find("No such file or directory"), std::string::npos) << w.error();
  }
}

}  // namespace
}  // namespace nosync::train
