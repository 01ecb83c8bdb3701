#include "auth/token_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "events/encoding.h"

namespace ordersd::auth {

namespace {

constexpr std::string_view kPrefix = "odt_";
constexpr size_t kIdBytes = 8;
constexpr size_t kSecretBytes = 32;

using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view text) {
  Digest d{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), d.data(), &size, EVP_sha256(), nullptr);
  return d;
}

std::optional<Digest> unhex_digest(std::string_view text) {
  auto bytes = from_hex(text);
  if (!bytes || bytes->size() != Digest().size()) return std::nullopt;
  Digest d{};
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

std::string_view as_text(const unsigned char* bytes, size_t n) { return {reinterpret_cast<const char*>(bytes), n}; }

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The id part of a token, or "" when the token is not of our form.
std::string_view token_id(std::string_view token) {
  if (!token.starts_with(kPrefix)) return {};
  std::string_view rest = token.substr(kPrefix.size());
  if (rest.size() < 2 * kIdBytes + 1 || rest[2 * kIdBytes] != '_') return {};
  return rest.substr(0, 2 * kIdBytes);
}

struct Parsed {
  std::vector<TokenRecord> live;
};

Result<Parsed> parse(std::istream& in, const std::string& path) {
  std::map<std::string, TokenRecord> by_name;  // live tokens
  std::map<std::string, std::string> ids;      // every id ever created -> name
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    auto where = [&] { return path + ":" + std::to_string(number) + ": "; };
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("op") || !j["op"].is_string() || !j.contains("name") || !j["name"].is_string()) {
      return Status::invalid_argument(where() + "not a token record");
    }
    std::string op = j["op"], name = j["name"];
    if (op == "revoke") {
      by_name.erase(name);
      continue;
    }
    if (op != "create") return Status::invalid_argument(where() + "unknown op '" + op + "'");
    TokenRecord r;
    r.name = name;
    if (!j.contains("id") || !j["id"].is_string() || !j.contains("sha256") || !j["sha256"].is_string() ||
        !j.contains("scopes") || !j["scopes"].is_array()) {
      return Status::invalid_argument(where() + "a create record needs id, sha256 and scopes");
    }
    r.id = j["id"];
    r.sha256 = j["sha256"];
    if (r.id.size() != 2 * kIdBytes || !unhex_digest(r.sha256)) {
      return Status::invalid_argument(where() + "malformed id or sha256");
    }
    for (const auto& s : j["scopes"]) {
      auto scope = s.is_string() ? scope_named(s.get<std::string>()) : std::nullopt;
      if (!scope) return Status::invalid_argument(where() + "unknown scope " + s.dump());
      r.scopes.add(*scope);
    }
    if (j.contains("customer_id") && j["customer_id"].is_string()) r.customer_id = j["customer_id"];
    if (j.contains("created_at") && j["created_at"].is_string()) r.created_at = j["created_at"];
    if (!ids.emplace(r.id, r.name).second) return Status::invalid_argument(where() + "token id used twice");
    by_name[name] = std::move(r);
  }
  Parsed p;
  for (auto& [name, r] : by_name) p.live.push_back(std::move(r));
  return p;
}

// An open, exclusively locked token file; closed (and unlocked) on destruction.
class LockedFile {
 public:
  static Result<LockedFile> open(const std::string& path, bool create) {
    int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0) return Status::io_error("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX) != 0) {
      int e = errno;
      ::close(fd);
      return Status::io_error("cannot lock " + path + ": " + std::strerror(e));
    }
    return LockedFile(fd, path);
  }
  LockedFile(LockedFile&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  ~LockedFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  Result<Parsed> read() const {
    std::ifstream in(path_);
    if (!in) return Status::io_error("cannot read " + path_);
    return parse(in, path_);
  }

  Status append(const nlohmann::json& record) {
    std::string line = record.dump() + "\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fsync(fd_) != 0) {
      return Status::io_error("cannot write " + path_ + ": " + std::strerror(errno));
    }
    return Status::ok();
  }

 private:
  LockedFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace

bool valid_token_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<std::shared_ptr<const TokenSet>> TokenSet::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read the token file " + path + ": " + std::strerror(errno));
  auto parsed = parse(in, path);
  if (!parsed) return parsed.status();
  auto set = std::make_shared<TokenSet>();
  set->tokens_ = std::move(parsed->live);
  return std::shared_ptr<const TokenSet>(std::move(set));
}

std::optional<Principal> TokenSet::authenticate(std::string_view token) const {
  Digest presented = sha256(token);
  std::string_view id = token_id(token);
  const TokenRecord* found = nullptr;
  for (const auto& r : tokens_) {
    if (!id.empty() && r.id == id) found = &r;
  }
  // The digest is compared whether or not the id matched, so that a miss
  // takes as long as a wrong secret.
  Digest stored = found ? *unhex_digest(found->sha256) : Digest{};
  bool equal = CRYPTO_memcmp(presented.data(), stored.data(), presented.size()) == 0;
  if (!found || !equal) return std::nullopt;
  Principal p;
  p.kind = Principal::Kind::kApiToken;
  p.name = found->name;
  p.scopes = found->scopes;
  p.customer_id = found->customer_id;
  return p;
}

Result<std::string> create_token(const std::string& path, const std::string& name, const ScopeSet& scopes,
                                 const std::optional<std::string>& customer_id) {
  if (!valid_token_name(name)) {
    return Status::invalid_argument("a token name is 1 to 64 characters of A-Z a-z 0-9 . _ -");
  }
  if (scopes.empty()) return Status::invalid_argument("a token needs at least one scope");
  if (customer_id) {
    for (Scope s : scopes.list()) {
      if (crosses_customers(s)) {
        return Status::invalid_argument("a token bound to a customer cannot hold " + std::string(scope_name(s)) +
                                        ": it would see every customer");
      }
    }
  }
  auto file = LockedFile::open(path, true);
  if (!file) return file.status();
  auto existing = file->read();
  if (!existing) return existing.status();
  for (const auto& r : existing->live) {
    if (r.name == name) return Status::invalid_argument("a live token is already named '" + name + "'");
  }
  unsigned char random[kIdBytes + kSecretBytes];
  if (RAND_bytes(random, sizeof random) != 1) return Status::io_error("no randomness for a token");
  std::string id = to_hex(as_text(random, kIdBytes));
  std::string token = std::string(kPrefix) + id + "_" + base64url(as_text(random + kIdBytes, kSecretBytes));
  OPENSSL_cleanse(random, sizeof random);
  Digest digest = sha256(token);
  nlohmann::ordered_json record;
  record["op"] = "create";
  record["id"] = id;
  record["name"] = name;
  record["sha256"] = to_hex(as_text(digest.data(), digest.size()));
  record["scopes"] = nlohmann::json::array();
  for (Scope s : scopes.list()) record["scopes"].push_back(std::string(scope_name(s)));
  if (customer_id) record["customer_id"] = *customer_id;
  record["created_at"] = now_utc();
  if (Status s = file->append(record); !s) return s;
  return token;
}

Status revoke_token(const std::string& path, const std::string& name) {
  auto file = LockedFile::open(path, false);
  if (!file) return file.status();
  auto existing = file->read();
  if (!existing) return existing.status();
  bool live = false;
  for (const auto& r : existing->live) live = live || r.name == name;
  if (!live) return Status::not_found("no live token named '" + name + "'");
  nlohmann::ordered_json record;
  record["op"] = "revoke";
  record["name"] = name;
  record["revoked_at"] = now_utc();
  return file->append(record);
}

}  // namespace ordersd::auth
