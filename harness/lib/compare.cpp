#include "harness/lib/compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace tritbench::compare {

namespace {

using nlohmann::json;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Two-sided 97.5% quantile of Student's t for `df` degrees of freedom.
double t_quantile(double df) {
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086};
  if (df < 1) return table[0];
  if (df <= 20) return table[static_cast<int>(df) - 1];
  return 1.96 + 2.4 / df;  // smooth approach to the normal quantile
}

std::string num(const json& v) {
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number()) return std::to_string(v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "hot" : "cold";
  return v.dump();
}

// The rows of a results file, whatever command wrote it, each tagged with its kind.
std::vector<json> rows_of(const json& f) {
  std::vector<json> out;
  auto add = [&](const json& arr, const char* kind) {
    if (!arr.is_array()) return;
    for (json r : arr) {
      if (!r.contains("kind")) r["kind"] = kind;
      out.push_back(r);
    }
  };
  if (f.contains("sweeps") || f.contains("e2e") || f.contains("checks")) {
    add(f.value("sweeps", json::array()), "sweep");
    add(f.value("e2e", json::array()), "e2e");
    add(f.value("checks", json::array()), "check");
  } else if (f.contains("results")) {
    for (json r : f["results"]) {
      if (!r.contains("kind")) r["kind"] = r.contains("samples_tps") ? "e2e" : "sweep";
      out.push_back(r);
    }
  } else if (f.is_array()) {
    add(f, "sweep");
  }
  return out;
}

std::string key_of(const json& r) {
  const std::string kind = r.value("kind", "");
  if (kind == "sweep")
    return "kernel " + r.value("kernel", "?") + " " + num(r.value("M", json())) + "x" + num(r.value("K", json())) +
           " N=" + num(r.value("batch", json())) + " t=" + num(r.value("threads", json())) + " " +
           num(r.value("hot", json(false)));
  if (kind == "e2e")
    return "e2e " + r.value("model", "?") + " " + r.value("output_type", "?") + " " + r.value("kernel", "?") +
           " t=" + num(r.value("threads", json())) + " " + r.value("test", "?") + " b=" + num(r.value("batch", json()));
  if (kind == "check") return "check " + r.value("kernel", "?");
  if (kind == "check_e2e")
    return "check-e2e " + r.value("model", "?") + " " + r.value("kernel", "?") + " t=" + num(r.value("threads", json()));
  return kind + " " + r.dump();
}

std::vector<double> samples(const json& r, bool& higher_better) {
  std::vector<double> s;
  higher_better = r.contains("samples_tps");
  const json& arr = higher_better ? r["samples_tps"] : r.value("samples_seconds", json::array());
  for (const auto& v : arr)
    if (v.is_number()) s.push_back(v.get<double>());
  return s;
}

}  // namespace

bool significantly_different(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() < 2 || y.size() < 2) return false;
  auto mv = [](const std::vector<double>& v, double& m, double& var) {
    m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    var = 0;
    for (double e : v) var += (e - m) * (e - m);
    var /= static_cast<double>(v.size() - 1);
  };
  double mx, vx, my, vy;
  mv(x, mx, vx);
  mv(y, my, vy);
  const double sx = vx / static_cast<double>(x.size()), sy = vy / static_cast<double>(y.size());
  if (sx + sy == 0) return mx != my;
  const double t = std::fabs(mx - my) / std::sqrt(sx + sy);
  const double df = (sx + sy) * (sx + sy) /
                    (sx * sx / static_cast<double>(x.size() - 1) + sy * sy / static_cast<double>(y.size() - 1));
  return t > t_quantile(df);
}

bool Report::regression() const {
  if (!correctness.empty()) return true;
  return std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.regression; });
}

Report compare(const json& fa, const json& fb, double threshold) {
  Report rep;
  std::map<std::string, json> A, B;
  for (const auto& r : rows_of(fa)) A[key_of(r)] = r;
  for (const auto& r : rows_of(fb)) B[key_of(r)] = r;
  for (const auto& [key, ra] : A) {
    const std::string kind = ra.value("kind", "");
    auto it = B.find(key);
    if (kind == "check" || kind == "check_e2e") {
      if (it == B.end()) continue;
      const json& rb = it->second;
      if (kind == "check" && ra.value("ok", false) && !rb.value("ok", false))
        rep.correctness.push_back({key, "passed in A, fails in B: " + rb.value("first_failure", std::string())});
      if (kind == "check_e2e") {
        if (ra.value("pass", false) && !rb.value("pass", false))
          rep.correctness.push_back({key, "passed in A, fails in B"});
        if (ra.value("exact", false) && ra.value("logits_digest", "") != rb.value("logits_digest", ""))
          rep.correctness.push_back({key, "logits digest changed " + ra.value("logits_digest", std::string()) + " -> " +
                                              rb.value("logits_digest", std::string())});
      }
      continue;
    }
    Row row;
    row.key = key;
    if (it == B.end()) {
      row.verdict = "only in A";
      rep.rows.push_back(row);
      continue;
    }
    bool hb = false;
    const auto sa = samples(ra, hb), sb = samples(it->second, hb);
    row.metric = hb ? "t/s" : "time";
    row.a = median(sa);
    row.b = median(sb);
    if (row.a > 0 && row.b > 0) row.speedup = hb ? row.b / row.a : row.a / row.b;
    if (row.speedup > 0 && significantly_different(sa, sb)) {
      row.verdict = row.speedup > 1 ? "faster" : "slower";
      row.regression = row.speedup < 1.0 / (1.0 + threshold);
    } else {
      row.verdict = "within noise";
    }
    rep.rows.push_back(row);
  }
  for (const auto& [key, rb] : B)
    if (!A.count(key) && rb.value("kind", "") != "check" && rb.value("kind", "") != "check_e2e")
      rep.rows.push_back({key, "", 0, 0, 0, "only in B", false});
  return rep;
}

}  // namespace tritbench::compare
