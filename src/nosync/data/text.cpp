// Text corpora as byte windows, split by position into interleaved blocks.
#include "nosync/data/text.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "nosync/util/error.h"
#include "nosync/util/fs.h"

namespace nosync::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kBlockWindows = 32;  // a block is this many contexts long

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::vector<char> raw = util::read_file(path);
  return std::vector<uint8_t>(raw.begin(), raw.end());
}

bool is_text(const std::vector<uint8_t>& bytes) {
  return std::find(bytes.begin(), bytes.end(), uint8_t{0}) == bytes.end();
}

}  // namespace

std::vector<uint8_t> read_text_corpus(const std::string& path, std::vector<std::string>* sources) {
  if (path.empty())
    throw UserError("data.path is empty: data.format = text needs a text file or a directory of them",
                    "e.g. --set data.path=/usr/share/games/fortunes (Debian package fortunes)");
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    throw UserError(fmt::format("data.path = {}: no such file or directory", path),
                    path.rfind("/usr/share/games/fortunes", 0) == 0 ? "install it: apt-get install fortunes"
                                                                    : "check data.path");
  std::vector<uint8_t> out;
  if (!fs::is_directory(status)) {
    out = file_bytes(path);
    if (sources) sources->push_back(path);
  } else {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.is_symlink() || !entry.is_regular_file()) continue;
      files.push_back(entry.path().string());
    }
    if (ec) throw UserError(fmt::format("data.path = {}: cannot list the directory: {}", path, ec.message()));
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::vector<uint8_t> bytes = file_bytes(f);
      if (!is_text(bytes)) continue;  // a binary file (e.g. fortune's .dat indexes)
      out.insert(out.end(), bytes.begin(), bytes.end());
      if (sources) sources->push_back(f);
    }
  }
  if (out.empty())
    throw UserError(fmt::format("data.path = {}: no text found (empty, or only binary files)", path),
                    "point data.path at a text file or a directory of text files");
  return out;
}

Dataset text_windows(const std::vector<uint8_t>& bytes, int64_t context, int64_t stride, const std::string& source) {
  NOSYNC_CHECK(context > 0 && stride > 0, "context {} stride {}", context, stride);
  const int64_t n = static_cast<int64_t>(bytes.size());
  const int64_t count = n > context ? (n - context - 1) / stride + 1 : 0;
  Dataset out;
  out.task = Task::language_model;
  out.num_classes = 256;
  out.source = source;
  out.inputs = torch::empty({count, context}, torch::kUInt8);
  out.labels = torch::empty({count, context}, torch::kInt64);
  uint8_t* x = out.inputs.data_ptr<uint8_t>();
  int64_t* y = out.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* w = bytes.data() + i * stride;
    std::memcpy(x + i * context, w, static_cast<size_t>(context));
    for (int64_t t = 0; t < context; ++t) y[i * context + t] = w[t + 1];
  }
  return out;
}

TextSplits split_text(const std::vector<uint8_t>& bytes, const TextOptions& options, const std::string& source) {
  if (options.context < 1) throw UserError(fmt::format("data.context = {}: expected 1 or more", options.context));
  if (options.stride < 0) throw UserError(fmt::format("data.stride = {}: expected 0 (context / 2) or more", options.stride));
  const double fv = options.val_fraction, ft = options.test_fraction;
  if (!(fv > 0 && ft > 0 && fv + ft < 1))
    throw UserError(fmt::format("data.val_fraction = {}, data.test_fraction = {}: expected each above 0 and a sum "
                                "below 1",
                                fv, ft),
                    "the defaults are 0.05 and 0.05");
  const int64_t context = options.context;
  const int64_t stride = options.stride > 0 ? options.stride : std::max<int64_t>(1, context / 2);
  const int64_t block = kBlockWindows * context;
  const int64_t n = static_cast<int64_t>(bytes.size());
  const int64_t blocks = (n + block - 1) / block;

  // Each block goes to the split furthest behind its share so far (exact shares, interleaved).
  const std::array<double, 3> share = {1 - fv - ft, fv, ft};
  std::array<int64_t, 3> taken = {0, 0, 0};
  std::array<std::vector<uint8_t>, 3> streams;
  for (int64_t b = 0; b < blocks; ++b) {
    int best = 0;
    double best_deficit = -1e300;
    for (int s = 0; s < 3; ++s) {
      const double deficit = share[s] * static_cast<double>(b + 1) - static_cast<double>(taken[s]);
      if (deficit > best_deficit) best_deficit = deficit, best = s;
    }
    ++taken[best];
    const auto* begin = bytes.data() + b * block;
    streams[best].insert(streams[best].end(), begin, begin + std::min(block, n - b * block));
  }

  TextSplits out;
  out.train = text_windows(streams[0], context, stride, source);
  out.val = text_windows(streams[1], context, context, source);
  out.test = text_windows(streams[2], context, context, source);
  const char* names[] = {"training", "validation", "test"};
  const Dataset* sets[] = {&out.train, &out.val, &out.test};
  for (int s = 0; s < 3; ++s) {
    if (sets[s]->size() == 0)
      throw UserError(fmt::format("{}: {} bytes give the {} split {} bytes, less than one window of data.context = {} "
                                  "tokens + 1",
                                  source, n, names[s], streams[s].size(), context),
                      fmt::format("use a larger text (at least ~{} bytes), a smaller data.context or larger "
                                  "data.val_fraction / data.test_fraction",
                                  static_cast<int64_t>(std::ceil(block / std::min({fv, ft, 1 - fv - ft})))));
  }
  return out;
}

double unigram_entropy(const std::vector<uint8_t>& bytes) {
  std::array<int64_t, 256> count{};
  for (uint8_t b : bytes) ++count[b];
  double h = 0;
  const double n = static_cast<double>(bytes.size());
  for (int64_t c : count)
    if (c > 0) h -= (c / n) * std::log(c / n);
  return h;
}

}  // namespace nosync::data
