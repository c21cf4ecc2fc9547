// Checks of the tensors handed to a transport (local board and MPI): a snapshot or collective
// buffer must be a defined, contiguous CPU float tensor, and a snapshot must have the transport's
// size. Both transports read and write such tensors as raw float arrays.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace nosync::comm {

// Why `t` cannot be read or written as contiguous CPU floats; empty when it can.
std::string float_buffer_problem(const torch::Tensor& t);

// Throws InternalError "<what>: <problem>" when float_buffer_problem(t) is not empty.
void check_float_buffer(const torch::Tensor& t, const char* what);

// check_float_buffer, and `t` must hold `numel` floats: else InternalError "<what>: <n> floats,
// the <holder> holds <numel>" (`holder`: "board", "transport").
void check_snapshot_tensor(const torch::Tensor& t, int64_t numel, const char* what, const char* holder);

}  // namespace nosync::comm
