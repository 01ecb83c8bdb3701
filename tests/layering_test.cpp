// The house rules, checked on the sources themselves: which folder may
// include which (arrows point down only), and no cycle between folders.
//
//   app -> api -> { http, write/saga, read, bus, auth } -> events
//   write/saga -> write/pipeline -> write/domain -> events
//
// read/ and write/ never include each other, nor http/ or api/; events/ and
// http/ include nothing above them; auth/ (who a caller is, what it may do)
// knows neither HTTP nor the domain.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace fs = std::filesystem;

namespace {

// The folder a source path (relative to src/) belongs to: write/ counts by its rooms.
std::string folder_of(const std::string& path) {
  auto slash = path.find('/');
  if (slash == std::string::npos) return "";
  std::string top = path.substr(0, slash);
  if (top == "write") {
    auto second = path.find('/', slash + 1);
    return second == std::string::npos ? top : path.substr(0, second);
  }
  return top;
}

const std::map<std::string, std::set<std::string>> kAllowed = {
    {"events", {}},
    {"http", {"events"}},
    {"write/domain", {"events"}},
    {"write/pipeline", {"events", "write/domain"}},
    {"write/saga", {"events", "write/domain", "write/pipeline"}},
    {"read", {"events"}},
    {"bus", {"events"}},
    {"auth", {"events"}},
    {"api", {"events", "http", "write/domain", "write/pipeline", "write/saga", "read", "bus", "auth"}},
    {"app", {"events", "http", "write/domain", "write/pipeline", "write/saga", "read", "bus", "auth", "api"}},
};

}  // namespace

TEST_CASE("every include between folders points down the house's layers, and folders include no cycle") {
  const fs::path src = fs::path(ORDERSD_SOURCE_DIR) / "src";
  REQUIRE(fs::is_directory(src));
  const std::regex include(R"re(^\s*#\s*include\s+"([^"]+)")re");
  std::map<std::string, std::set<std::string>> edges;
  size_t files = 0;
  for (auto it = fs::recursive_directory_iterator(src); it != fs::recursive_directory_iterator(); ++it) {
    const auto& entry = *it;
    // The web console (src/console/) is JavaScript, bundled apart: the layers are the C++ folders'.
    if (entry.is_directory() && entry.path().filename() == "console") {
      it.disable_recursion_pending();
      continue;
    }
    if (!entry.is_regular_file()) continue;
    std::string rel = fs::relative(entry.path(), src).generic_string();
    std::string from = folder_of(rel);
    if (from.empty()) continue;
    ++files;
    INFO("in src/" << rel);
    CHECK_MESSAGE(kAllowed.count(from), "a folder the house does not name: " << from);
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      std::string target = m[1];
      if (target.rfind("schema/", 0) == 0) continue;  // generated from schemas/, below everything
      std::string to = folder_of(target);
      if (to.empty() || to == from) continue;
      edges[from].insert(to);
      auto allowed = kAllowed.find(from);
      CHECK_MESSAGE((allowed != kAllowed.end() && allowed->second.count(to)),
                    "src/" << rel << " includes " << target << ": " << from << " may not include " << to);
    }
  }
  CHECK(files > 50);
  // No cycle: a depth-first walk never meets a folder still on its path.
  std::map<std::string, int> mark;  // 1 on the path, 2 done
  std::function<bool(const std::string&)> acyclic = [&](const std::string& f) {
    if (mark[f] == 1) return false;
    if (mark[f] == 2) return true;
    mark[f] = 1;
    for (const auto& to : edges[f]) {
      if (!acyclic(to)) return false;
    }
    mark[f] = 2;
    return true;
  };
  for (const auto& [f, _] : edges) CHECK_MESSAGE(acyclic(f), "a cycle through " << f);
}
