#pragma once
// Read-only private mappings of model files (GGUF, safetensors), shared by their readers.

#include <cstddef>
#include <cstdint>

namespace tritbench::models {

// A whole-file PROT_READ / MAP_PRIVATE mapping; unmapped when the last owner lets go.
struct FileMap {
  void* addr = nullptr;
  std::size_t size = 0;
  FileMap() = default;
  FileMap(const FileMap&) = delete;
  FileMap& operator=(const FileMap&) = delete;
  ~FileMap();
};

// Drops this process's pages of [p, p + n) (the whole pages inside the range) from the resident
// set. Only for ranges inside a FileMap: a read-only private file mapping has no modified pages,
// so they are re-read from the page cache on the next access and nothing changes but the resident
// set. (On anonymous or heap memory the same call would zero the pages: never use it there.)
void drop_file_pages(const void* p, std::uint64_t n);

}  // namespace tritbench::models
