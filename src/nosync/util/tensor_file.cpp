// Tensor files (the format is described in tensor_file.h).
#include "nosync/util/tensor_file.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include "nosync/util/error.h"
#include "nosync/util/fs.h"

namespace nosync::util {

namespace {

// A CPU, contiguous, detached tensor whose storage holds exactly its own elements (so a slice
// of a big tensor does not drag the whole storage into the file).
at::Tensor prepare_for_save(const std::string& name, const at::Tensor& tensor) {
  NOSYNC_CHECK(tensor.defined(), "tensor '{}' is undefined", name);
  NOSYNC_CHECK(tensor.layout() == at::kStrided, "tensor '{}' is not strided (layout {})", name,
               c10::str(tensor.layout()));
  at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
  if (t.storage_offset() != 0 || t.storage().nbytes() != t.nbytes()) t = t.clone();
  return t;
}

}  // namespace

std::vector<char> serialize_tensors(const TensorList& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  std::vector<at::Tensor> keep_alive;
  keep_alive.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    NOSYNC_CHECK(!dict.contains(name), "tensor name '{}' appears twice", name);
    keep_alive.push_back(prepare_for_save(name, tensor));
    dict.insert(name, keep_alive.back());
  }

  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* buf, size_t size) { pickle.insert(pickle.end(), buf, buf + size); },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(dict));
  pickler.stop();

  std::vector<char> out;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
      const char* p = static_cast<const char*>(data);
      out.insert(out.end(), p, p + size);
      return size;
    });
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    const std::vector<at::Tensor>& storages = pickler.tensorData();
    for (size_t i = 0; i < storages.size(); ++i) {
      torch::jit::WriteableTensorData data = torch::jit::getWriteableTensorData(storages[i]);
      writer.writeRecord(fmt::format("data/{}", i), data.data(), data.sizeInBytes());
    }
    writer.writeEndOfFile();
  }
  return out;
}

TensorList deserialize_tensors(const std::vector<char>& bytes, const std::string& source) {
  const std::string hint =
      "expected a dict of tensors written by nosync (or torch.save of a dict of tensors)";
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(bytes);
  } catch (const std::exception& e) {
    throw UserError(fmt::format("{}: cannot read tensors: {}", source, first_line(e)), hint);
  }
  if (!value.isGenericDict()) {
    throw UserError(fmt::format("{}: expected a dict of tensors, found {}", source,
                                value.tagKind()),
                    hint);
  }
  TensorList out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString()) {
      throw UserError(fmt::format("{}: dict key of type {} (expected str)", source,
                                  entry.key().tagKind()),
                      hint);
    }
    std::string name = entry.key().toStringRef();
    if (!entry.value().isTensor()) {
      throw UserError(fmt::format("{}: entry '{}' is a {}, not a tensor", source, name,
                                  entry.value().tagKind()),
                      hint);
    }
    out.emplace_back(std::move(name), entry.value().toTensor());
  }
  return out;
}

void save_tensors(const std::string& path, const TensorList& tensors) {
  std::vector<char> bytes = serialize_tensors(tensors);
  util::write_file_atomic(path, bytes.data(), bytes.size());
}

TensorList load_tensors(const std::string& path) {
  return deserialize_tensors(util::read_file(path), path);
}

}  // namespace nosync::util
