#include "bus/broker_users.h"

#include <nlohmann/json.hpp>

#include "bus/nats_bus.h"

namespace ordersd::bus {

BrokerPermissions broker_permissions(Role role) {
  const std::string stream = kStreamName;
  const std::string api = "$JS.API.";
  Roles roles = Roles::of(role);
  BrokerPermissions p;
  for (const auto& kind : roles.written_kinds()) p.publish.push_back(subject_of_kind(kind));
  // Any process may be the first to start: each looks the stream up and
  // creates it when missing (a create of the stream as it is changes nothing).
  p.publish.push_back(api + "STREAM.INFO." + stream);
  p.publish.push_back(api + "STREAM.CREATE." + stream);
  if (!roles.read_kinds().empty()) {
    // A durable pull consumer per kind read: looked up, created when missing
    // (cnats 3.4 creates through CONSUMER.DURABLE.CREATE, whose subject does
    // not name the filter), fetched from and acknowledged. Consumer names
    // (`{node}-{kind}`) are one token each, so none of these can be narrowed
    // to this role's consumers or kinds.
    p.publish.push_back(api + "CONSUMER.INFO." + stream + ".*");
    p.publish.push_back(api + "CONSUMER.DURABLE.CREATE." + stream + ".*");
    p.publish.push_back(api + "CONSUMER.MSG.NEXT." + stream + ".*");
    p.publish.push_back("$JS.ACK." + stream + ".>");
  }
  p.subscribe.push_back(inbox_prefix_of(role_name(role)) + ".>");
  return p;
}

std::string nats_authorization(const std::vector<BrokerUser>& users, const std::string& header) {
  // JSON's quoted strings are nats-server config strings: a quoted "$2b$..."
  // is the hash itself, never a $variable.
  auto list = [](const std::vector<std::string>& subjects) {
    std::string out = "[";
    for (size_t i = 0; i < subjects.size(); ++i) out += (i ? ", " : "") + nlohmann::json(subjects[i]).dump();
    return out + "]";
  };
  std::string out = header;
  out += "authorization {\n  users = [\n";
  for (const auto& u : users) {
    out += "    {\n";
    out += "      user: " + nlohmann::json(u.name).dump() + "\n";
    out += "      password: " + nlohmann::json(u.password).dump() + "\n";
    out += "      permissions: {\n";
    out += "        publish: { allow: " + list(u.permissions.publish) + " }\n";
    out += "        subscribe: { allow: " + list(u.permissions.subscribe) + " }\n";
    out += "      }\n";
    out += "    }\n";
  }
  out += "  ]\n}\n";
  return out;
}

}  // namespace ordersd::bus
