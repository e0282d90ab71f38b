#pragma once
// Progress of a long run: a redrawn bar with elapsed and remaining time on a terminal, plain lines
// otherwise (CI logs, pipes).

#include <chrono>
#include <cstdint>
#include <string>

namespace tritbench {

class Progress {
 public:
  explicit Progress(std::int64_t total_units);
  void message(const std::string& line);  // a log line (keeps the bar below it on a TTY)
  void advance(const std::string& label, std::int64_t units = 1);  // units finished
  void finish();

 private:
  void draw(const std::string& label);
  std::int64_t total_, done_ = 0;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

std::string format_duration(double seconds);  // "1:05", "1:02:03"

}  // namespace tritbench
