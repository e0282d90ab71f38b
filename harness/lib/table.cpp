#include "harness/lib/table.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace tritbench {

namespace {
bool numeric(const std::string& s) {
  return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+') &&
         s.find_first_not_of("0123456789.-+e%x ") == std::string::npos;
}
}  // namespace

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Table::console() const {
  std::vector<std::size_t> w(header_.size(), 0);
  for (std::size_t i = 0; i < header_.size(); ++i) w[i] = header_[i].size();
  for (const auto& r : rows_)
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  std::ostringstream o;
  auto line = [&](const std::vector<std::string>& r) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string& s = i < r.size() ? r[i] : std::string();
      const std::string pad(w[i] - s.size(), ' ');
      o << (i ? "  " : "") << (numeric(s) ? pad + s : s + pad);
    }
    o << '\n';
  };
  line(header_);
  std::size_t total = 0;
  for (auto x : w) total += x + 2;
  o << std::string(total - 2, '-') << '\n';
  for (const auto& r : rows_) line(r);
  return o.str();
}

std::string Table::markdown() const {
  std::ostringstream o;
  o << '|';
  for (const auto& h : header_) o << ' ' << h << " |";
  o << "\n|";
  for (std::size_t i = 0; i < header_.size(); ++i) o << "---|";
  o << '\n';
  for (const auto& r : rows_) {
    o << '|';
    for (std::size_t i = 0; i < header_.size(); ++i) o << ' ' << (i < r.size() ? r[i] : "") << " |";
    o << '\n';
  }
  return o.str();
}

std::string Table::csv() const {
  std::ostringstream o;
  auto cell = [&](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string e = "\"";
    for (char ch : s) e += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return e + "\"";
  };
  for (std::size_t i = 0; i < header_.size(); ++i) o << (i ? "," : "") << cell(header_[i]);
  o << '\n';
  for (const auto& r : rows_) {
    for (std::size_t i = 0; i < header_.size(); ++i) o << (i ? "," : "") << cell(i < r.size() ? r[i] : "");
    o << '\n';
  }
  return o.str();
}

}  // namespace tritbench
