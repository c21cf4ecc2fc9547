// In-memory data sets and the train / validation / test splits every run uses.
//
// Inputs are kept exactly as read from disk (uint8 images, float features, byte tokens);
// normalization and augmentation happen when batches are made (see loader.h), so a data set is
// cheap to split, subset and share between particles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace nosync::data {

// What a run learns: a class per sample (accuracy), or the next token at every position of a
// sequence (loss, perplexity, bits per byte). Fitness is the validation loss for both.
enum class Task { classification, language_model };
const char* task_name(Task task);  // "classification" | "language_model"

// One sample's geometry as the models see it: images C x H x W; a vector of D features or a
// sequence of D tokens is 1 x 1 x D.
struct Shape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t numel() const { return channels * height * width; }
  bool operator==(const Shape& o) const {
    return channels == o.channels && height == o.height && width == o.width;
  }
};

struct Dataset {
  // classification: uint8 images [N, C, H, W] (pixels / 255 before normalization), float32
  //                 [N, C, H, W] or [N, D] (used as they are before normalization);
  // language_model: uint8 tokens [N, T]. Contiguous.
  torch::Tensor inputs;
  torch::Tensor labels;  // int64: classification [N]; language_model [N, T] (the next tokens)
  int64_t num_classes = 0;  // classes; language_model: the vocabulary
  Task task = Task::classification;
  std::string source;  // where it came from, for messages ("…/train-images-idx3-ubyte.gz")

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  Shape shape() const;
  // Predictions per sample: 1, or the T positions of a sequence.
  int64_t targets_per_sample() const { return labels.defined() && labels.dim() == 2 ? labels.size(1) : 1; }
  // Rows [begin, end) as a new Dataset sharing no storage with this one.
  Dataset slice(int64_t begin, int64_t end) const;
};

// Classification sets whose class count is their labels' (largest label + 1, over all of `sets`),
// given to every one of them; fewer than 2 classes is a UserError naming `source`, with `hint`.
void classes_from_labels(const std::vector<Dataset*>& sets, const std::string& source, const std::string& hint);

// Per-channel statistics applied as (x - mean) / std, x being a uint8 pixel / 255 or a float
// feature as stored (channel = dimension 1 of the inputs). Token inputs are not normalized
// (no channels: mean and std empty).
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
  static Normalization identity(int64_t channels);  // mean 0, std 1: x / 255 or x only
  static Normalization from(const Dataset& ds);      // statistics of a (training) data set
  static Normalization none_for(const Dataset& ds);  // identity, or none for tokens
};
// The channels normalization treats separately (dimension 1 of the inputs; 0 for tokens).
int64_t channels_of(const Dataset& ds);

struct DataOptions {
  std::string format = "idx";  // idx | cifar10 | tensors | text | synthetic
  std::string dir = "/usr/share/datasets/fashion-mnist";
  std::string path;             // tensors: the torch.save file; text: a file or a directory
  int64_t context = 128;        // text: tokens per window
  int64_t stride = 0;           // text: training windows start every N bytes; 0 = context / 2
  double val_fraction = 0.05;   // text: share of the corpus held out for validation
  double test_fraction = 0.05;  // text: ... and for test
  int64_t val_size = 5000;      // held out of the training set, taken from its end
  int64_t train_limit = 0;      // 0 = all remaining training samples; else the first N
  int64_t test_limit = 0;       // 0 = the whole test set; else the first N
  bool normalize = true;        // per-channel mean/std of the training split
  int64_t augment_crop = 0;     // random crop with this zero padding (pixels); 0 = off
  bool augment_flip = false;    // random horizontal flip
  // synthetic data set (format = synthetic): class prototypes plus noise, learnable.
  int64_t synthetic_train = 2048;
  int64_t synthetic_test = 512;
  int64_t synthetic_classes = 4;
  int64_t synthetic_size = 12;  // images are 1 x size x size
  uint64_t synthetic_seed = 7;
};

struct Splits {
  Dataset train;
  Dataset val;
  Dataset test;
  Normalization norm;
};

// Reads the data set named by `options` and splits it. Bad or missing files throw UserError
// (one line: file, what was expected, what was found, byte offset, hint).
Splits load_splits(const DataOptions& options);

}  // namespace nosync::data
