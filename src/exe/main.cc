// firebreak: one binary. `serve` runs the server; every other verb is a client of its API.
#include "cli/cli.h"
#include "exe/serve.h"

int main(int argc, char** argv) { return firebreak::cli::Main(argc, argv, firebreak::Serve); }
