#include "cli/main.hpp"

int
main(int argc, char** argv)
{
  return rag::cli::main(argc, argv);
}
