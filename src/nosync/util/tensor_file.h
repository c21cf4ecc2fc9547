// Files of named tensors in PyTorch's zip format: what torch.save of a dict of tensors writes and
// torch.load(weights_only=True) reads. Checkpoints, exported models and tensor data sets use it.
//
// Layout: a zip written by caffe2::serialize::PyTorchStreamWriter (every record under
// "archive/", 64-byte aligned, stored uncompressed) holding
//   archive/data.pkl   pickle protocol 2 of a plain dict {name: tensor}, written by
//                      torch::jit::Pickler with tag_aggregates=false so no
//                      torch.jit._pickle.restore_type_tag global appears (weights_only rejects it);
//                      each tensor is torch._utils._rebuild_tensor_v2 of a persistent id
//                      ('storage', torch.<Dtype>Storage, '<i>', 'cpu', numel)
//   archive/data/<i>   the raw bytes of storage <i>
//   archive/version    written by writeEndOfFile()
// This is what torch::pickle_save writes, minus the type tags.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace nosync::util {

// Ordered (name, tensor) pairs: order is kept on save and load.
using TensorList = std::vector<std::pair<std::string, torch::Tensor>>;

// A dict[str, Tensor] in PyTorch's zip format, loadable with torch.load(weights_only=True).
std::vector<char> serialize_tensors(const TensorList& tensors);
// Reads any torch.save of a dict of tensors (str keys); anything else is a UserError naming
// `source`.
TensorList deserialize_tensors(const std::vector<char>& bytes, const std::string& source);
void save_tensors(const std::string& path, const TensorList& tensors);
TensorList load_tensors(const std::string& path);

}  // namespace nosync::util
