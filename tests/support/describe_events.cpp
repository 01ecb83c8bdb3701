#include "support/describe_events.h"

#include <sstream>
#include <variant>

#include "write/domain/overloaded.h"

namespace ordersd::test {

using namespace ordersd::write;

std::string describe(const std::vector<StockLine>& lines) {
  std::string out = "[";
  for (size_t i = 0; i < lines.size(); ++i) out += (i ? " " : "") + lines[i].sku + " x" + std::to_string(lines[i].quantity);
  return out + "]";
}

std::string describe(const OrderEvent& event) {
  std::ostringstream out;
  std::visit(Overloaded{
                 [&](const OrderPlaced& e) {
                   out << "OrderPlaced{" << e.order_id << ", " << e.customer_id << ", [";
                   for (const auto& l : e.items) out << l.sku << " x" << l.quantity << " @" << l.unit_price_cents << " ";
                   out << "], " << e.shipping_address.country << "/" << e.shipping_address.city << "/"
                       << e.shipping_address.line1 << "/" << e.shipping_address.postal_code << ", " << e.total_cents
                       << "}";
                 },
                 [&](const PaymentProcessed& e) { out << "PaymentProcessed{" << e.amount_cents << "}"; },
                 [&](const PaymentDeclined& e) { out << "PaymentDeclined{" << e.amount_cents << ", " << e.reason << "}"; },
                 [&](const PaymentRefunded& e) { out << "PaymentRefunded{" << e.amount_cents << "}"; },
                 [&](const InventoryReserved& e) { out << "InventoryReserved{" << describe(e.lines) << "}"; },
                 [&](const InventoryReservationFailed& e) {
                   out << "InventoryReservationFailed{" << e.sku << ", " << e.requested << ", " << e.available << ", "
                       << e.reason << "}";
                 },
                 [&](const InventoryReleased& e) { out << "InventoryReleased{" << describe(e.lines) << "}"; },
                 [&](const ShipmentInitiated& e) {
                   out << "ShipmentInitiated{" << e.shipment_id << ", " << e.country << "}";
                 },
                 [&](const ShipmentFailed& e) { out << "ShipmentFailed{" << e.country << ", " << e.reason << "}"; },
                 [&](const OrderDelivered&) { out << "OrderDelivered{}"; },
                 [&](const CancellationRequested& e) { out << "CancellationRequested{" << e.reason << "}"; },
                 [&](const OrderCancelled& e) { out << "OrderCancelled{" << e.reason << "}"; },
             },
             event);
  return out.str();
}

std::string describe(const StockEvent& event) {
  std::ostringstream out;
  std::visit(Overloaded{
                 [&](const StockRestocked& e) {
                   out << "StockRestocked{" << e.quantity << ", available " << e.available << "}";
                 },
                 [&](const StockReserved& e) { out << "StockReserved{" << e.order_id << ", " << e.quantity << "}"; },
                 [&](const StockReleased& e) { out << "StockReleased{" << e.order_id << ", " << e.quantity << "}"; },
                 [&](const StockShipped& e) { out << "StockShipped{" << e.order_id << ", " << e.quantity << "}"; },
             },
             event);
  return out.str();
}

}  // namespace ordersd::test
