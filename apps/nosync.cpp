// The nosync command-line tool: everything lives in the library; this only hands over argv.
#include "nosync/app/cli.h"

int main(int argc, char** argv) { return nosync::app::main(argc, argv); }
