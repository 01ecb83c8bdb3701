#include "auth/authenticator.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include <openssl/evp.h>

#include <cstring>

#include "events/logging.h"

namespace ordersd::auth {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Secrets in a file others may read are secrets no more: say so.
void warn_if_readable_by_others(const std::string& path, const char* what) {
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    logging::warn("auth", std::string(what) + " is readable by group or others; chmod 600 it", {{"file", path}});
  }
}

// The rule for ids in paths: 1 to 64 of A-Z a-z 0-9 _ -.
bool valid_customer_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

}  // namespace

Result<std::unique_ptr<Authenticator>> Authenticator::open(AuthOptions options) {
  std::unique_ptr<Authenticator> a(new Authenticator(std::move(options)));
  if (Status s = a->reload(); !s) return s;
  return a;
}

Status Authenticator::reload() {
  std::shared_ptr<const TokenSet> tokens;
  std::shared_ptr<const JwksVerifier> jwks;
  if (!options_.tokens_file.empty()) {
    auto loaded = TokenSet::load(options_.tokens_file);
    if (!loaded) return loaded.status();
    tokens = std::move(loaded).value();
    warn_if_readable_by_others(options_.tokens_file, "the token file");
  }
  if (!options_.jwks_file.empty()) {
    auto loaded = JwksVerifier::load(options_.jwks_file, options_.jwt);
    if (!loaded) return loaded.status();
    jwks = std::move(loaded).value();
  }
  std::lock_guard lk(mu_);
  tokens_ = std::move(tokens);
  jwks_ = std::move(jwks);
  remembered_.clear();  // keys may have been withdrawn
  return Status::ok();
}

size_t Authenticator::DigestHash::operator()(const std::array<unsigned char, 32>& d) const {
  size_t h;
  std::memcpy(&h, d.data(), sizeof h);  // a digest's bytes are already uniform
  return h;
}

Result<JwtClaims> Authenticator::verified(const std::shared_ptr<const JwksVerifier>& jwks, std::string_view token,
                                          std::chrono::system_clock::time_point now) const {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr);
  const auto leeway = options_.jwt.leeway;
  {
    std::lock_guard lk(mu_);
    if (auto it = remembered_.find(digest); it != remembered_.end() && jwks == jwks_) {
      if (now <= it->second.expires_at + leeway) return it->second;
      remembered_.erase(it);
    }
  }
  auto claims = jwks->verify(token, now);
  if (!claims) return claims;
  std::lock_guard lk(mu_);
  if (jwks != jwks_) return claims;  // verified with keys reloaded since: not worth remembering
  if (remembered_.size() >= kRememberedJwts) {
    // Full: first forget the expired; if that is not enough, all of them.
    std::erase_if(remembered_, [&](const auto& entry) { return now > entry.second.expires_at + leeway; });
    if (remembered_.size() >= kRememberedJwts) remembered_.clear();
  }
  remembered_.emplace(digest, *claims);
  return claims;
}

std::string Authenticator::describe() const {
  std::lock_guard lk(mu_);
  if (!tokens_ && !jwks_) return "open: no tokens or JWKS";
  std::string out;
  if (tokens_) out += std::to_string(tokens_->tokens().size()) + " API tokens";
  if (jwks_) out += (out.empty() ? "" : ", ") + std::to_string(jwks_->key_count()) + " JWT signing keys";
  return out;
}

Authenticator::Outcome Authenticator::authenticate(std::optional<std::string_view> authorization,
                                                   std::chrono::system_clock::time_point now) const {
  Outcome out;
  if (open_access()) {
    out.principal = Principal::anonymous();
    return out;
  }
  if (!authorization || authorization->empty()) {
    out.missing = true;
    out.reason = "this route needs a bearer token: Authorization: Bearer <token>";
    return out;
  }
  std::string_view value = *authorization;
  size_t space = value.find(' ');
  if (space == std::string_view::npos || !iequals(value.substr(0, space), "Bearer")) {
    out.reason = "only bearer tokens are accepted: Authorization: Bearer <token>";
    return out;
  }
  std::string_view token = value.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) {
    out.reason = "the bearer token is empty";
    return out;
  }
  std::shared_ptr<const TokenSet> tokens;
  std::shared_ptr<const JwksVerifier> jwks;
  {
    std::lock_guard lk(mu_);
    tokens = tokens_;
    jwks = jwks_;
  }
  // A JWT has two dots; an API token has none.
  bool looks_like_jwt = std::count(token.begin(), token.end(), '.') == 2;
  if (looks_like_jwt && jwks) {
    auto claims = verified(jwks, token, now);
    if (!claims) {
      out.reason = claims.status().message();
      return out;
    }
    Principal p;
    p.kind = Principal::Kind::kJwt;
    p.name = claims->subject;
    for (const auto& s : claims->scopes) {
      if (auto scope = scope_named(s)) p.scopes.add(*scope);
    }
    p.customer_id = claims->customer_id;
    if (p.customer_id && !valid_customer_id(*p.customer_id)) {
      out.reason = "the token's customer_id claim is not a customer id";
      return out;
    }
    // A token bound to a customer never sees past it, whatever it claims.
    if (p.customer_id) {
      for (Scope s : p.scopes.list()) {
        if (crosses_customers(s)) p.scopes.remove(s);
      }
    }
    out.principal = std::move(p);
    return out;
  }
  if (!looks_like_jwt && tokens) {
    if (auto p = tokens->authenticate(token)) {
      out.principal = std::move(p);
      return out;
    }
  }
  out.reason = "the bearer token is not valid (unknown, revoked or malformed)";
  return out;
}

}  // namespace ordersd::auth
