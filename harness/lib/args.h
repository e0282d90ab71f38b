#pragma once
// Command-line parsing shared by the subcommands: flags with values, comma lists and ranges
// (llama-bench style: "1,2,4", "1-8", "128-512*2"), and clear errors naming the flag.

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tritbench {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `with_value` lists the flags that take a value ("-k", "--shapes", ...); other flags are switches.
  Args(int argc, char** argv, int first, const std::vector<std::string>& with_value,
       const std::vector<std::string>& switches);
  bool has(const std::string& flag) const;
  std::string get(const std::string& flag, const std::string& def = "") const;
  // Integers >= min_value; "a,b,c", "a-b" (step 1), "a-b*m" (multiply), "a-b+s" (add).
  std::vector<std::int64_t> ints(const std::string& flag, const std::string& def,
                                 std::int64_t min_value = 1, std::int64_t max_value = 1 << 30) const;
  std::int64_t integer(const std::string& flag, std::int64_t def, std::int64_t min_value,
                       std::int64_t max_value) const;
  double number(const std::string& flag, double def, double min_value, double max_value) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

std::vector<std::string> split(const std::string& s, char sep);
std::vector<std::int64_t> parse_int_list(const std::string& flag, const std::string& s,
                                         std::int64_t min_value, std::int64_t max_value);

}  // namespace tritbench
