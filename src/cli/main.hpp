#pragma once

namespace rag::cli {

// Run the rag command line and return the process exit code
// (0 success, 1 runtime failure, 2 usage error).
int main(int argc, char** argv);

} // namespace rag::cli
