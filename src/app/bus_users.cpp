#include "app/bus_users.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>

#include "bus/broker_users.h"
#include "events/encoding.h"
#include "bus/roles.h"
#include "events/status.h"

namespace ordersd::app {

namespace {

constexpr size_t kPasswordBytes = 24;
constexpr unsigned long kBcryptCost = 11;  // nats-server's own `passwd` tool's

Result<std::string> random_password() {
  unsigned char bytes[kPasswordBytes];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::io_error(std::string("no random bytes: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  // base64url: 32 characters, none of them special anywhere.
  return base64url(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

Result<std::string> bcrypt(const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", kBcryptCost, nullptr, 0, setting, sizeof setting)) {
    return Status::io_error(std::string("cannot make a bcrypt salt: ") + std::strerror(errno));
  }
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), setting, &data);
  if (!hash || hash[0] != '$') return Status::io_error("cannot hash a password with bcrypt");
  return std::string(hash);
}

// RabbitMQ's rabbit_password_hashing_sha256: base64(salt + SHA-256(salt + password)), a 4-byte random salt.
Result<std::string> rabbitmq_hash(const std::string& password) {
  unsigned char salt[4];
  if (getrandom(salt, sizeof salt, 0) != static_cast<ssize_t>(sizeof salt)) {
    return Status::io_error(std::string("no random bytes: ") + std::strerror(errno));
  }
  std::string salted(reinterpret_cast<const char*>(salt), sizeof salt);
  salted += password;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(salted.data(), salted.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return Status::io_error("cannot hash a password with SHA-256");
  }
  std::string raw(reinterpret_cast<const char*>(salt), sizeof salt);
  raw.append(reinterpret_cast<const char*>(digest), length);
  // Standard base64 with padding, as RabbitMQ reads it.
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// `text` into `path`, mode 0600 from the start, replacing it whole or not at all.
Status write_private(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::io_error("cannot write " + tmp + ": " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::io_error("cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::io_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

constexpr const char* kHeader =
    "# The broker's users, one per ordersd service: written by `ordersd bus-users`\n"
    "# from the roles (src/bus/roles.h). Each may publish the events of the kinds\n"
    "# its role writes and no others, use JetStream for the ORDERSD stream and its\n"
    "# consumers of the kinds it reads, and read its own inboxes only.\n"
    "# Passwords are bcrypt hashes; each service's password is in <service>.creds\n"
    "# beside this file (mode 0600), for `ordersd serve --bus-creds`.\n"
    "# Run: nats-server -c nats.conf --jetstream --store_dir ... (or include it).\n"
    "# The same users for RabbitMQ are in rabbitmq-definitions.json beside it.\n";

}  // namespace

int bus_users(const BusUsersConfig& config, std::ostream& out, std::ostream& err) {
  namespace fs = std::filesystem;
  const std::string conf = config.dir + "/nats.conf";
  std::error_code ec;
  if (fs::exists(conf, ec) && !config.force) {
    err << conf << " exists: its passwords may be in use. --force writes new users (then restart nats-server and "
        << "every service)\n";
    return 1;
  }
  if (!fs::is_directory(config.dir, ec)) {
    fs::create_directories(config.dir, ec);
    if (ec) {
      err << "cannot create " << config.dir << ": " << ec.message() << "\n";
      return 1;
    }
    fs::permissions(config.dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  std::vector<bus::BrokerUser> users;
  std::vector<bus::RabbitUser> rabbit_users;
  for (bus::Role role : bus::every_role()) {
    const std::string name(bus::role_name(role));
    auto password = random_password();
    if (!password) {
      err << password.status().message() << "\n";
      return 1;
    }
    auto hash = bcrypt(*password);
    if (!hash) {
      err << hash.status().message() << "\n";
      return 1;
    }
    const std::string creds = config.dir + "/" + name + ".creds";
    if (Status s = write_private(creds, name + ":" + *password + "\n"); !s) {
      err << s.message() << "\n";
      return 1;
    }
    users.push_back({name, *hash, bus::broker_permissions(role)});
    auto rabbit_hash = rabbitmq_hash(*password);
    if (!rabbit_hash) {
      err << rabbit_hash.status().message() << "\n";
      return 1;
    }
    rabbit_users.push_back({name, *rabbit_hash, bus::rabbitmq_permissions(role)});
    out << "wrote " << creds << "\n";
  }
  const std::string definitions = config.dir + "/rabbitmq-definitions.json";
  if (Status s = write_private(definitions, bus::rabbitmq_definitions(rabbit_users)); !s) {
    err << s.message() << "\n";
    return 1;
  }
  out << "wrote " << definitions << "\n";
  // Last: a nats.conf means every file beside it is written.
  if (Status s = write_private(conf, bus::nats_authorization(users, kHeader)); !s) {
    err << s.message() << "\n";
    return 1;
  }
  out << "wrote " << conf << "\n";
  return 0;
}

}  // namespace ordersd::app
