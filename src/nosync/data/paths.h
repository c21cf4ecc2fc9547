// Internal helpers shared by the data readers: locating data files and the hints that go with
// missing ones. Not part of the public data API.
#pragma once

#include <string>

namespace nosync::data {

constexpr const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";

// The hint for a missing data directory or file. `format` ("idx", "cifar10" or "" when unknown)
// picks the advice; the packaged Fashion-MNIST directory gets the package to install.
std::string missing_data_hint(const std::string& dir, const std::string& format);

// Throws UserError (naming the directory and data.dir) unless `dir` is an existing directory.
void check_data_dir(const std::string& dir, const std::string& format);

// "<dir>/<name>.gz" if it exists, else "<dir>/<name>" if it exists; otherwise a UserError that
// names the .gz path.
std::string find_data_file(const std::string& dir, const std::string& name);

}  // namespace nosync::data
