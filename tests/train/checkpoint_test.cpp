#include "nosync/train/checkpoint.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "support/test_support.h"

namespace nosync::train {
namespace {

namespace fs = std::filesystem;
using nosync::testing::TempDir;

void expect_same(const TensorList& got, const TensorList& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].first);
    EXPECT_EQ(got[i].first, want[i].first);
    const at::Tensor& g = got[i].second;
    const at::Tensor& w = want[i].second;
    EXPECT_EQ(g.scalar_type(), w.scalar_type());
    EXPECT_EQ(g.sizes(), w.sizes());
    EXPECT_TRUE(g.device().is_cpu());
    EXPECT_TRUE(g.is_contiguous());
    EXPECT_TRUE(torch::equal(g, w.to(at::kCPU)));
  }
}

// Must match expected() in tests/python/check_weights_only.py.
TensorList expected_interop_tensors() {
  return {
      {"layer.weight", torch::arange(12, torch::kFloat32).reshape({3, 4}) / 4},
      {"big", torch::arange(5, torch::kInt64) + (int64_t{1} << 40)},
      {"half", (torch::arange(8, torch::kFloat32) * 0.5).to(torch::kBFloat16)},
      {"empty", torch::zeros({0, 3}, torch::kFloat32)},
      {"transposed", torch::arange(6, torch::kFloat64).reshape({2, 3}).t()},
      {"slice", torch::arange(10, torch::kFloat32).slice(0, 2, 5)},
  };
}

CheckpointContent sample_content(int64_t step) {
  CheckpointContent c;
  c.model = {
      {"fc1.weight", torch::randn({4, 3})},
      {"fc1.bias", torch::full({4}, static_cast<double>(step))},
      {"bn.num_batches_tracked", torch::tensor(step, torch::kInt64)},
  };
  c.optimizer = {
      {"state.0.exp_avg", torch::randn({4, 3})},
      {"state.0.step", torch::tensor(static_cast<double>(step), torch::kFloat32)},
  };
  c.state = {{"step", step}, {"epoch", step / 10}, {"rng", {1, 2, 3}}, {"loader", {{"pos", 7}}}};
  c.config_toml = "[train]\nlr = 0.1\nsteps = " + std::to_string(step) + "\n";
  return c;
}

void expect_same(const CheckpointContent& got, const CheckpointContent& want) {
  {
    SCOPED_TRACE("model");
    expect_same(got.model, want.model);
  }
  {
    SCOPED_TRACE("optimizer");
    expect_same(got.optimizer, want.optimizer);
  }
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.config_toml, want.config_toml);
}

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// Runs `fn`, expects a UserError and returns "message (hint: ...)".
template <typename Fn>
std::string user_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return one_line(e);
  }
  ADD_FAILURE() << "expected a UserError";
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Tensor files

TEST(TensorSerializationTest, RoundTripKeepsDtypesShapesAndOrder) {
  TensorList tensors = expected_interop_tensors();
  tensors.emplace_back("a_last_but_alphabetically_first", torch::ones({2}, torch::kInt32));
  tensors.emplace_back("bool", torch::tensor({true, false, true}));
  tensors.emplace_back("scalar", torch::tensor(3.5, torch::kFloat64));
  tensors.emplace_back("f16", torch::arange(4, torch::kFloat16));
  tensors.emplace_back("u8", torch::arange(4, torch::kUInt8));
  std::vector<char> bytes = serialize_tensors(tensors);
  expect_same(deserialize_tensors(bytes, "mem"), tensors);
}

TEST(TensorSerializationTest, NonContiguousAndSlicesAreSavedCompactly) {
  at::Tensor big = torch::arange(100000, torch::kFloat32);
  TensorList tensors = {{"slice", big.slice(0, 10, 13)},
                        {"strided", big.slice(0, 0, 20, 5)},
                        {"t", torch::arange(6, torch::kInt64).reshape({2, 3}).t()}};
  EXPECT_FALSE(tensors[1].second.is_contiguous());
  std::vector<char> bytes = serialize_tensors(tensors);
  EXPECT_LT(bytes.size(), 4096u) << "the whole 400 kB storage was written";
  TensorList back = deserialize_tensors(bytes, "mem");
  expect_same(back, tensors);
  EXPECT_TRUE(torch::equal(back[1].second, torch::tensor({0.f, 5.f, 10.f, 15.f})));
}

TEST(TensorSerializationTest, EmptyListAndRequiresGrad) {
  EXPECT_TRUE(deserialize_tensors(serialize_tensors({}), "mem").empty());
  TensorList tensors = {{"w", torch::ones({2, 2}, torch::requires_grad())}};
  TensorList back = deserialize_tensors(serialize_tensors(tensors), "mem");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_FALSE(back[0].second.requires_grad());
  EXPECT_TRUE(torch::equal(back[0].second, torch::ones({2, 2})));
}

TEST(TensorSerializationTest, AcceptsTorchPickleSave) {
  c10::Dict<std::string, at::Tensor> dict;
  dict.insert("x", torch::arange(3, torch::kFloat32));
  std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  TensorList back = deserialize_tensors(bytes, "mem");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].first, "x");
  EXPECT_TRUE(torch::equal(back[0].second, torch::arange(3, torch::kFloat32)));
}

TEST(TensorSerializationTest, GarbageIsUserErrorNamingTheSource) {
  std::vector<char> garbage(100, 'x');
  std::string err = user_error_of([&] { deserialize_tensors(garbage, "/some/dir/model.pt"); });
  EXPECT_TRUE(contains(err, "/some/dir/model.pt")) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;

  // A zip holding something else than a dict of tensors.
  std::vector<char> list_bytes = torch::pickle_save(c10::IValue(std::vector<int64_t>{1, 2}));
  err = user_error_of([&] { deserialize_tensors(list_bytes, "list.pt"); });
  EXPECT_TRUE(contains(err, "list.pt")) << err;
}

TEST(TensorSerializationTest, TruncatedBytesAreUserErrors) {
  const std::vector<char> bytes = serialize_tensors(expected_interop_tensors());
  const size_t n = bytes.size();
  for (size_t cut : {size_t{0}, size_t{1}, size_t{30}, n / 3, n / 2, n - 100, n - 22, n - 1}) {
    SCOPED_TRACE(cut);
    std::vector<char> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(deserialize_tensors(prefix, "cut.pt"), UserError);
  }
}

TEST(TensorSerializationTest, SaveAndLoadFiles) {
  TempDir tmp;
  TensorList tensors = expected_interop_tensors();
  save_tensors(tmp.file("t.pt"), tensors);
  expect_same(load_tensors(tmp.file("t.pt")), tensors);
  std::string err = user_error_of([&] { load_tensors(tmp.file("missing.pt")); });
  EXPECT_TRUE(contains(err, tmp.file("missing.pt"))) << err;
}

// Finds an interpreter that can import torch: $NOSYNC_PYTHON, python3 on PATH, /usr/bin/python3.
std::string find_python_with_torch(std::string* tried) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("NOSYNC_PYTHON"); env && *env) candidates.emplace_back(env);
  candidates.emplace_back("python3");
  candidates.emplace_back("/usr/bin/python3");
  for (const std::string& py : candidates) {
    *tried += (tried->empty() ? "" : ", ") + py;
    std::string cmd = "'" + py + "' -c 'import torch' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return {};
}

TEST(TensorPythonInteropTest, TorchLoadWeightsOnlyReadsOurFilesAndWeReadTorchSave) {
  std::string tried;
  const std::string python = find_python_with_torch(&tried);
  ASSERT_FALSE(python.empty())
      << "no Python interpreter with torch found (tried " << tried
      << "); install python3-torch or set NOSYNC_PYTHON to a python with torch";

  TempDir tmp;
  const std::string ours = tmp.file("ours.pt");
  const std::string theirs = tmp.file("theirs.pt");
  const std::string log = tmp.file("python.log");
  save_tensors(ours, expected_interop_tensors());
  const std::string script = std::string(NOSYNC_SOURCE_DIR) + "/tests/python/check_weights_only.py";
  const std::string cmd =
      "'" + python + "' '" + script + "' '" + ours + "' '" + theirs + "' >'" + log + "' 2>&1";
  int rc = std::system(cmd.c_str());
  std::string output;
  if (fs::exists(log)) output = util::read_text(log);
  ASSERT_EQ(rc, 0) << cmd << "\n" << output;
  EXPECT_TRUE(contains(output, "weights_only OK")) << output;

  // And the other way: a dict saved by Python's torch.save.
  expect_same(load_tensors(theirs), expected_interop_tensors());
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

TEST(CheckpointTest, RoundTripAndLayout) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  CheckpointContent content = sample_content(100);
  const std::string dir = write_checkpoint(ckpts, 100, content, 0);
  EXPECT_EQ(fs::path(dir), fs::path(ckpts) / "step-100");
  EXPECT_EQ(entries(dir), (std::set<std::string>{"model.pt", "optimizer.pt", "state.json",
                                                 "config.toml", "manifest.json"}));
  EXPECT_EQ(entries(ckpts), (std::set<std::string>{"step-100", "latest"}));
  EXPECT_EQ(util::read_text(ckpts + "/latest"), "step-100\n");

  nlohmann::json manifest = nlohmann::json::parse(util::read_text(dir + "/manifest.json"));
  EXPECT_EQ(manifest["format"], "nosync-checkpoint");
  EXPECT_EQ(manifest["version"], 1);
  EXPECT_EQ(manifest["step"], 100);
  std::vector<char> model = util::read_file(dir + "/model.pt");
  EXPECT_EQ(manifest["files"]["model.pt"]["bytes"], model.size());
  EXPECT_EQ(manifest["files"]["model.pt"]["sha256"], util::sha256_hex(model.data(), model.size()));
  EXPECT_EQ(nlohmann::json::parse(util::read_text(dir + "/state.json")), content.state);

  for (const std::string& path : {run.path(), ckpts, dir, dir + "/"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(resolve_checkpoint_dir(path), dir);
    expect_same(read_checkpoint(path), content);
  }
}

TEST(CheckpointTest, LatestPointsAtNewest) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  for (int64_t step : {1, 2, 3}) write_checkpoint(ckpts, step, sample_content(step), 0);
  EXPECT_EQ(util::read_text(ckpts + "/latest"), "step-3\n");
  EXPECT_EQ(read_checkpoint(run.path()).state["step"], 3);
  EXPECT_EQ(read_checkpoint(ckpts + "/step-2").state["step"], 2);
}

TEST(CheckpointTest, KeepPrunesOldest) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  for (int64_t step : {10, 20, 30, 40}) write_checkpoint(ckpts, step, sample_content(step), 2);
  EXPECT_EQ(entries(ckpts), (std::set<std::string>{"step-30", "step-40", "latest"}));
  EXPECT_EQ(read_checkpoint(ckpts).state["step"], 40);
}

// checkpoint.keep_best: besides the newest `keep`, the K of lowest state.json "val_loss" stay;
// a checkpoint without a recorded loss is never one of them.
TEST(CheckpointTest, KeepBestKeepsTheLowestValidationLoss) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  const std::vector<std::pair<int64_t, double>> losses = {{10, 0.9}, {20, 0.3}, {30, 0.5},
                                                          {40, 0.2}, {50, 0.8}, {60, 0.7}};
  for (const auto& [step, loss] : losses) {
    CheckpointContent c = sample_content(step);
    c.state["val_loss"] = loss;
    write_checkpoint(ckpts, step, c, /*keep=*/2, /*keep_best=*/2);
  }
  EXPECT_EQ(entries(ckpts), (std::set<std::string>{"step-20", "step-40", "step-50", "step-60", "latest"}));
  EXPECT_EQ(read_checkpoint(ckpts).state["step"], 60);
  EXPECT_EQ(read_checkpoint(ckpts + "/step-40").state["val_loss"], 0.2);

  // A new best displaces the worse of the two; without keep_best only the newest stay.
  CheckpointContent c = sample_content(70);
  c.state["val_loss"] = 0.1;
  write_checkpoint(ckpts, 70, c, 2, 2);
  EXPECT_EQ(entries(ckpts), (std::set<std::string>{"step-40", "step-60", "step-70", "latest"}));
  write_checkpoint(ckpts, 80, sample_content(80), 2, 0);
  EXPECT_EQ(entries(ckpts), (std::set<std::string>{"step-70", "step-80", "latest"}));

  TempDir other;
  const std::string dir = other.file("checkpoints");
  write_checkpoint(dir, 1, sample_content(1), 1, 2);  // no val_loss
  CheckpointContent scored = sample_content(2);
  scored.state["val_loss"] = 5.0;
  write_checkpoint(dir, 2, scored, 1, 2);
  write_checkpoint(dir, 3, sample_content(3), 1, 2);
  write_checkpoint(dir, 4, sample_content(4), 1, 2);
  EXPECT_EQ(entries(dir), (std::set<std::string>{"step-2", "step-4", "latest"}));
}

TEST(CheckpointTest, PruningNeverRemovesLatest) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  write_checkpoint(ckpts, 50, sample_content(50), 1);
  write_checkpoint(ckpts, 60, sample_content(60), 1);
  // A restart from an older state writes a lower step number.
  write_checkpoint(ckpts, 5, sample_content(5), 1);
  EXPECT_EQ(entries(ckpts), (std::set<std::string>{"step-60", "step-5", "latest"}));
  EXPECT_EQ(read_checkpoint(ckpts).state["step"], 5);
}

TEST(CheckpointTest, RewritingTheSameStepReplacesIt) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  write_checkpoint(ckpts, 7, sample_content(7), 0);
  CheckpointContent second = sample_content(7);
  second.state["note"] = "second";
  write_checkpoint(ckpts, 7, second, 0);
  expect_same(read_checkpoint(run.path()), second);
  EXPECT_EQ(entries(ckpts), (std::set<std::string>{"step-7", "latest"}));
}

TEST(CheckpointTest, FlippedByteIsDetected) {
  TempDir run;
  const std::string dir = write_checkpoint(run.file("checkpoints"), 1, sample_content(1), 0);
  const std::string model = dir + "/model.pt";
  std::vector<uint8_t> bytes = nosync::testing::read_bytes(model);
  // Flip a byte inside the stored tensor data; libtorch's loader would not notice.
  bytes[bytes.size() / 2] ^= 0x01;
  nosync::testing::write_bytes(model, bytes);
  std::string err = user_error_of([&] { read_checkpoint(run.path()); });
  EXPECT_TRUE(contains(err, model)) << err;
  EXPECT_TRUE(contains(err, "checksum mismatch (expected sha256 ")) << err;
  EXPECT_TRUE(contains(err, "older step-* directory")) << err;
}

TEST(CheckpointTest, TruncatedFileIsDetected) {
  TempDir run;
  const std::string dir = write_checkpoint(run.file("checkpoints"), 1, sample_content(1), 0);
  const std::string opt = dir + "/optimizer.pt";
  fs::resize_file(opt, fs::file_size(opt) - 10);
  std::string err = user_error_of([&] { read_checkpoint(dir); });
  EXPECT_TRUE(contains(err, opt)) << err;
  EXPECT_TRUE(contains(err, "size mismatch")) << err;
}

TEST(CheckpointTest, MissingListedFileIsDetected) {
  TempDir run;
  const std::string dir = write_checkpoint(run.file("checkpoints"), 1, sample_content(1), 0);
  fs::remove(dir + "/state.json");
  std::string err = user_error_of([&] { read_checkpoint(dir); });
  EXPECT_TRUE(contains(err, dir + "/state.json")) << err;
}

TEST(CheckpointTest, MissingManifestIsDetected) {
  TempDir run;
  const std::string dir = write_checkpoint(run.file("checkpoints"), 1, sample_content(1), 0);
  fs::remove(dir + "/manifest.json");
  for (const std::string& path : {run.path(), dir}) {
    std::string err = user_error_of([&] { read_checkpoint(path); });
    EXPECT_TRUE(contains(err, dir + "/manifest.json")) << err;
  }
}

TEST(CheckpointTest, MalformedManifestNamesBytePosition) {
  TempDir run;
  const std::string dir = write_checkpoint(run.file("checkpoints"), 1, sample_content(1), 0);
  util::write_file_atomic(dir + "/manifest.json", std::string("{\"format\": nope}"));
  std::string err = user_error_of([&] { read_checkpoint(dir); });
  EXPECT_TRUE(contains(err, dir + "/manifest.json")) << err;
  EXPECT_TRUE(contains(err, "at byte 13")) << err;

  util::write_file_atomic(dir + "/manifest.json", std::string("{\"format\": \"other\"}"));
  err = user_error_of([&] { read_checkpoint(dir); });
  EXPECT_TRUE(contains(err, dir + "/manifest.json")) << err;
}

// Found by fuzz/fuzz_manifest: a number beyond double's range made nlohmann::json throw
// out_of_range, which escaped as an internal error instead of a UserError.
TEST(CheckpointTest, ManifestNumberOverflowIsUserError) {
  const std::string err = user_error_of([] { parse_manifest("{\"format\": 6e4785}", "m.json"); });
  EXPECT_TRUE(contains(err, "m.json: invalid JSON")) << err;
  EXPECT_TRUE(contains(err, "number overflow")) << err;
  const std::string bytes = util::read_text(std::string(NOSYNC_SOURCE_DIR) + "/fuzz/regressions/manifest/number-overflow");
  EXPECT_FALSE(user_error_of([&] { parse_manifest(bytes, "regression"); }).empty());
}

TEST(CheckpointTest, ParseManifestRejectsPathsAndMissingFields) {
  auto manifest = [](const std::string& files) {
    return "{\"format\": \"nosync-checkpoint\", \"version\": 1, \"files\": {" + files + "}}";
  };
  const std::string ok = "\"sha256\": \"00\", \"bytes\": 1";
  const std::string all = "\"model.pt\": {" + ok + "}, \"optimizer.pt\": {" + ok + "}, \"state.json\": {" + ok +
                          "}, \"config.toml\": {" + ok + "}";
  EXPECT_EQ(parse_manifest(manifest(all), "m").size(), 4u);
  EXPECT_TRUE(contains(user_error_of([&] { parse_manifest(manifest(all + ", \"../x\": {" + ok + "}"), "m"); }),
                       "invalid file name '../x'"));
  EXPECT_TRUE(contains(user_error_of([&] { parse_manifest(manifest("\"model.pt\": {" + ok + "}"), "m"); }),
                       "does not list optimizer.pt"));
  EXPECT_TRUE(contains(user_error_of([&] { parse_manifest(manifest(all + ", \"x\": {\"bytes\": -1}"), "m"); }),
                       "needs \"sha256\" and \"bytes\""));
}

TEST(CheckpointTest, MissingLatestNamesTheDirectory) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  fs::create_directories(ckpts + "/step-3.tmp-1-0");
  for (const std::string& path : {run.path(), ckpts}) {
    try {
      read_checkpoint(path);
      ADD_FAILURE() << "expected a UserError for " << path;
    } catch (const UserError& e) {
      EXPECT_TRUE(contains(e.what(), ckpts)) << e.what();
      EXPECT_TRUE(contains(e.what(), "latest")) << e.what();
      EXPECT_FALSE(e.hint().empty());
    }
  }
  std::string err = user_error_of([&] { read_checkpoint(run.file("nope")); });
  EXPECT_TRUE(contains(err, run.file("nope"))) << err;
}

TEST(CheckpointTest, DanglingLatestIsUserError) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  write_checkpoint(ckpts, 1, sample_content(1), 0);
  util::write_file_atomic(ckpts + "/latest", std::string("step-9\n"));
  std::string err = user_error_of([&] { read_checkpoint(run.path()); });
  EXPECT_TRUE(contains(err, ckpts + "/latest")) << err;
  EXPECT_TRUE(contains(err, "step-9")) << err;
  util::write_file_atomic(ckpts + "/latest", std::string("../../etc\n"));
  err = user_error_of([&] { read_checkpoint(run.path()); });
  EXPECT_TRUE(contains(err, ckpts + "/latest")) << err;
}

TEST(CheckpointTest, CrashLeftoversAreIgnoredAndCleanedByTheNextWrite) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  CheckpointContent first = sample_content(1);
  write_checkpoint(ckpts, 1, first, 0);
  // What a crash in the middle of writing step 2 leaves: a half-written temp directory and a
  // temp file of `latest` that was never renamed.
  const std::string partial = ckpts + "/step-2.tmp-4242-0";
  fs::create_directories(partial);
  nosync::testing::write_bytes(partial + "/model.pt", {'P', 'K', 3, 4, 0, 0});
  nosync::testing::write_bytes(ckpts + "/latest.tmp-4242-1", {'s', 't', 'e', 'p', '-', '2'});

  expect_same(read_checkpoint(run.path()), first);

  CheckpointContent third = sample_content(3);
  write_checkpoint(ckpts, 3, third, 0);
  EXPECT_EQ(entries(ckpts), (std::set<std::string>{"step-1", "step-3", "latest"}));
  expect_same(read_checkpoint(run.path()), third);
}

TEST(CheckpointTest, FailedWriteKeepsThePreviousCheckpoint) {
  TempDir run;
  const std::string ckpts = run.file("checkpoints");
  CheckpointContent first = sample_content(1);
  write_checkpoint(ckpts, 1, first, 0);
  CheckpointContent broken = sample_content(2);
  broken.optimizer.emplace_back("undefined", at::Tensor());  // throws half-way through the write
  EXPECT_ANY_THROW(write_checkpoint(ckpts, 2, broken, 0));
  EXPECT_EQ(util::read_text(ckpts + "/latest"), "step-1\n");
  EXPECT_EQ(entries(ckpts), (std::set<std::string>{"step-1", "latest"}));
  expect_same(read_checkpoint(run.path()), first);
}

TEST(CheckpointTest, CheckpointTensorsLoadInPythonWeightsOnly) {
  std::string tried;
  const std::string python = find_python_with_torch(&tried);
  ASSERT_FALSE(python.empty()) << "no Python interpreter with torch found (tried " << tried
                               << "); install python3-torch or set NOSYNC_PYTHON";
  TempDir run;
  const std::string dir = write_checkpoint(run.file("checkpoints"), 1, sample_content(1), 0);
  const std::string cmd = "'" + python +
                          "' -c 'import sys, torch\n"
                          "m = torch.load(sys.argv[1], weights_only=True)\n"
                          "o = torch.load(sys.argv[2], weights_only=True)\n"
                          "assert list(m) == [\"fc1.weight\", \"fc1.bias\", "
                          "\"bn.num_batches_tracked\"], list(m)\n"
                          "assert m[\"bn.num_batches_tracked\"].dtype == torch.int64\n"
                          "assert list(o) == [\"state.0.exp_avg\", \"state.0.step\"], list(o)\n"
                          "' '" +
                          dir + "/model.pt' '" + dir + "/optimizer.pt'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace nosync::train
