// Text as bytes, for next-token prediction (data.format = text).
//
// Any file is read as bytes (vocabulary 256: no tokenizer, nothing to download); a directory
// stands for its regular text files (no NUL byte; symbolic links skipped, since they repeat
// their targets) concatenated in name order. The byte stream is cut into blocks of
// 32 x context bytes; each block goes to train, validation or test so that every split keeps
// its share at every point of the stream (splits by position, interleaved: each holds text from
// all over the corpus, and no window crosses from one split into another's bytes).
//
// A sample is a window of `context` input bytes and the `context` bytes that follow each of
// them (the targets): inputs uint8 [N, context], labels int64 [N, context]. Training windows
// start every `stride` bytes of the training stream; validation and test windows do not
// overlap, so every held-out byte is predicted once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nosync/data/dataset.h"

namespace nosync::data {

struct TextOptions {
  std::string path;             // a file or a directory of text files
  int64_t context = 128;        // tokens (bytes) per window
  int64_t stride = 0;           // training windows start every `stride` bytes; 0 = context / 2
  double val_fraction = 0.05;   // share of the blocks held out for validation
  double test_fraction = 0.05;  // ... and for test
};

// The corpus `path` names, as one byte stream (see the header comment); `sources` receives the
// files read. Missing, unreadable or empty: UserError naming the path and data.path.
std::vector<uint8_t> read_text_corpus(const std::string& path, std::vector<std::string>* sources = nullptr);

// Windows of `bytes` (inputs [N, context], next-byte labels [N, context]) starting every
// `stride` bytes; the last window ends at or before the end of `bytes`.
Dataset text_windows(const std::vector<uint8_t>& bytes, int64_t context, int64_t stride, const std::string& source);

// The three splits of a corpus already read (see the header comment for the rules). Too little
// text for one window per split: UserError with the sizes and a hint.
struct TextSplits {
  Dataset train, val, test;
};
TextSplits split_text(const std::vector<uint8_t>& bytes, const TextOptions& options, const std::string& source);

// Entropy in nats of the byte frequencies of `bytes`: the loss of the best model that ignores
// context (what a language model must beat to have learnt anything).
double unigram_entropy(const std::vector<uint8_t>& bytes);

}  // namespace nosync::data
