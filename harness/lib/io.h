#pragma once
// Writing result files so that nothing is lost: write to a temporary file in the same directory,
// flush and fsync it, then rename over the target. A run killed mid-write leaves the previous file.

#include <string>

namespace tritbench {

// Throws std::runtime_error naming the path and the OS error.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace tritbench
