// `ordersd bus-users --dir DIR`: the broker's users, one per service, for a
// nats-server that asks who connects. Writes DIR/<service>.creds (one line
// `service:password`, a fresh random password) for order, payment,
// inventory, shipping and query, and DIR/nats.conf: their bcrypt hashes and
// what each may publish and subscribe to (bus/broker_users.h). Every file is
// mode 0600. nats-server reads the config with `-c DIR/nats.conf`; each
// service gets `--bus-creds DIR/<service>.creds`.
#pragma once

#include <iosfwd>
#include <string>

namespace ordersd::app {

struct BusUsersConfig {
  std::string dir;
  bool force = false;  // replace the users of an existing DIR/nats.conf
};

// 0 when written; 1 when DIR/nats.conf is there already (without force) or a
// file cannot be written. What was written goes to `out`, why not to `err`.
int bus_users(const BusUsersConfig& config, std::ostream& out, std::ostream& err);

}  // namespace ordersd::app
