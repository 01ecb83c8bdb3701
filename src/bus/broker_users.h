// Broker users: one NATS user per service (role), allowed on the broker only
// what that service does there. roles.h decides it:
//
//   publish   ordersd.events.{kind} for each kind the role writes, and no
//             other event subject;
//             JetStream's API for the ORDERSD stream (look it up, create it
//             if missing) and for its durable consumers (look one up, create
//             it, fetch) and $JS.ACK.ORDERSD.> (acknowledge what it fetched)
//   subscribe its own inboxes, _INBOX.{user}.> (nats_bus.h), where the
//             broker's answers and the messages it fetches arrive
//
// What a service reads is not confined: consumer names are single tokens
// that permissions cannot tell apart by role, so a service may open a
// consumer on any kind. What it publishes is.
//
// RabbitMQ (amqp_bus.h) has no subjects but exchanges and streams, and a user
// per service gets, on the vhost, the regular expressions of
// `rabbitmqctl set_permissions`:
//
//   configure  declare the exchanges and streams of the kinds it writes, and
//              the streams of the kinds it reads (either may start first)
//   write      publish to its own exchanges (and bind its streams to them)
//   read       bind from its own exchanges, consume the streams it reads
//
// So a service publishes only its own events there too; what it reads is
// confined to its kinds as well. The configure right on a stream it reads
// would also let it delete that stream: RabbitMQ has no narrower right.
//
// `ordersd bus-users` writes these into a nats-server config, with the
// passwords as bcrypt hashes, and into a RabbitMQ definitions file, with the
// passwords as salted SHA-256 hashes.
#pragma once

#include <string>
#include <vector>

#include "bus/roles.h"

namespace ordersd::bus {

struct BrokerPermissions {
  std::vector<std::string> publish;    // subjects it may publish to (and request on)
  std::vector<std::string> subscribe;  // subjects it may subscribe to
};

BrokerPermissions broker_permissions(Role role);

struct BrokerUser {
  std::string name;      // role_name(role)
  std::string password;  // as nats-server compares it: a bcrypt hash ("$2b$...")
  BrokerPermissions permissions;
};

// The nats-server config text (an `authorization` block, preceded by the
// comment `header`) that admits these users and nothing else. The other
// settings (listen address, JetStream) come from nats-server's flags or a
// config that includes this one.
std::string nats_authorization(const std::vector<BrokerUser>& users, const std::string& header);

struct RabbitPermissions {
  std::string configure;
  std::string write;
  std::string read;
};

RabbitPermissions rabbitmq_permissions(Role role);

struct RabbitUser {
  std::string name;
  std::string password_hash;  // base64(salt + SHA-256(salt + password)), rabbit_password_hashing_sha256
  RabbitPermissions permissions;
};

// A definitions file (JSON) for rabbitmq-server's `load_definitions` or
// `rabbitmqctl import_definitions`: the vhost "/", these users (no tags:
// none may manage the broker) and their permissions on it.
std::string rabbitmq_definitions(const std::vector<RabbitUser>& users);

}  // namespace ordersd::bus
