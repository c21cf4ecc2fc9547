// Precompiled header for the library, tests and benchmarks: the libtorch and standard
// headers every translation unit pulls in anyway. Keep project headers out of it.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
