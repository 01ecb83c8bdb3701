// packaging/: the Prometheus rules and the Grafana dashboard name only
// metrics a real server exports, so that renaming one fails here rather than
// leaving an alert that can never fire; the dashboard is valid JSON with a
// Prometheus datasource variable.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using ordersd::test::HttpClient;
using ordersd::test::TempDir;

namespace {

const std::string kSource = ORDERSD_SOURCE_DIR;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The series names /metrics exports: each `# TYPE` line's metric, and for a
// histogram its _bucket, _sum and _count.
std::set<std::string> exported(const std::string& metrics) {
  std::set<std::string> names;
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("# TYPE ")) continue;
    std::istringstream fields(line.substr(7));
    std::string name, type;
    fields >> name >> type;
    names.insert(name);
    if (type == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
    }
  }
  return names;
}

std::set<std::string> used(const std::string& text) {
  std::set<std::string> names;
  static const std::regex metric("ordersd_[a-z0-9_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), metric); it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

}  // namespace

TEST_CASE("every metric the alert rules and the dashboard use is one the server exports") {
  TempDir dir;
  ordersd::test::ServerProcess server(dir.sub("data"));
  auto metrics = HttpClient(server.port).get("/metrics");
  REQUIRE(metrics.status == 200);
  std::set<std::string> names = exported(metrics.body);
  REQUIRE(names.contains("ordersd_log_head"));

  for (const char* file : {"packaging/prometheus/ordersd-rules.yml", "packaging/grafana/ordersd-dashboard.json"}) {
    std::set<std::string> in_file = used(read_file(kSource + "/" + file));
    CHECK_MESSAGE(in_file.size() > 5, file << " names hardly any metric");
    for (const auto& name : in_file) {
      INFO(file);
      CHECK_MESSAGE(names.contains(name), name << " is not exported by the server");
    }
  }
  CHECK(server.stop() == 0);
}

TEST_CASE("the Grafana dashboard is JSON with a Prometheus datasource variable that every panel uses") {
  auto dashboard = nlohmann::json::parse(read_file(kSource + "/packaging/grafana/ordersd-dashboard.json"));
  bool datasource_variable = false;
  for (const auto& variable : dashboard["templating"]["list"]) {
    if (variable["type"] == "datasource" && variable["query"] == "prometheus") {
      datasource_variable = variable["name"] == "datasource";
    }
  }
  CHECK(datasource_variable);
  size_t panels = 0;
  for (const auto& panel : dashboard["panels"]) {
    if (panel["type"] == "row") continue;
    ++panels;
    INFO(panel["title"]);
    CHECK(panel["datasource"]["uid"] == "${datasource}");
    CHECK(!panel["targets"].empty());
  }
  CHECK(panels >= 10);
}
