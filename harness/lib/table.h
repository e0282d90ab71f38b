#pragma once
// A plain text table: aligned columns for the console, pipes for Markdown, commas for CSV.

#include <string>
#include <vector>

namespace tritbench {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::string console() const;
  std::string markdown() const;
  std::string csv() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string fmt(double v, int decimals);

}  // namespace tritbench
