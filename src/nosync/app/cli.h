// The `nosync` command line: subcommands train and eval. Returns the process exit code:
// 0 success, 2 user error (bad flag, config or input file), 70 internal error.
#pragma once

namespace nosync::app {

int main(int argc, char** argv);

}  // namespace nosync::app
