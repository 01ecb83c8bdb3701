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
// `ordersd bus-users` writes these into a nats-server config, with the
// passwords as bcrypt hashes.
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

}  // namespace ordersd::bus
