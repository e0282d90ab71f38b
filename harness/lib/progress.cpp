#include "harness/lib/progress.h"

#include <unistd.h>

#include <cstdio>

namespace tritbench {

std::string format_duration(double s) {
  const auto t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

Progress::Progress(std::int64_t total) : total_(total > 0 ? total : 1), tty_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

void Progress::message(const std::string& line) {
  if (tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", line.c_str());
  if (tty_ && done_ > 0) draw("");
}

void Progress::advance(const std::string& label, std::int64_t units) {
  done_ += units;
  if (done_ > total_) done_ = total_;
  draw(label);
}

void Progress::draw(const std::string& label) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double remaining = done_ > 0 ? elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_) : 0;
  const std::string times = "elapsed " + format_duration(elapsed) + (done_ > 0 ? ", ~" + format_duration(remaining) + " left" : "");
  if (!tty_) {
    if (!label.empty())
      std::fprintf(stderr, "[%lld/%lld] %s (%s)\n", static_cast<long long>(done_), static_cast<long long>(total_), label.c_str(), times.c_str());
    return;
  }
  const int width = 30;
  const int filled = static_cast<int>(width * done_ / total_);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar += std::string(static_cast<std::size_t>(width - filled), '.');
  std::fprintf(stderr, "\r\033[K[%s] %lld/%lld %s  %s", bar.c_str(), static_cast<long long>(done_), static_cast<long long>(total_),
               times.c_str(), label.substr(0, 60).c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace tritbench
