import { derivedEventId, TOPICS, WAREHOUSE_TOPICS } from "./events.ts";
import { handleOnce, orderIdOf, type DemoService, type ServiceContext } from "./service.ts";

/**
 * The warehouse runs on a second Kafka cluster (`--warehouse-kafka`), as teams split clusters by
 * domain. Two services join the order saga to it, so one order's events cross clusters:
 *
 * - warehouse-bridge reads `shipping` on the main cluster and hands each shipped order to the
 *   warehouse: WarehouseOrderReceived on `warehouse-orders`, on the warehouse cluster;
 * - warehouse-service reads `warehouse-orders` there and dispatches the parcel: ParcelDispatched
 *   on `warehouse-parcels`.
 *
 * Both continue the order's trace (the instrumentation carries `traceparent` across), and both
 * handle each event once (handleOnce), like the other services.
 */

const BRIDGE = "warehouse-bridge";
const WAREHOUSE = "warehouse-service";
const DOCKS = ["dock-1", "dock-2", "dock-3"];

export function warehouseBridge(context: ServiceContext): DemoService {
  return {
    name: BRIDGE,
    topics: [TOPICS.shipping],
    concurrency: 3,
    async handle(event) {
      const orderId = orderIdOf(event);
      if (event.type !== "OrderShipped" || !orderId) return;
      await handleOnce(context, BRIDGE, event, async (_tx, send) => {
        const data = event.data as { shipmentId?: unknown; carrier?: unknown } | null;
        send(WAREHOUSE_TOPICS.warehouseOrders, {
          source: BRIDGE,
          type: "WarehouseOrderReceived",
          orderId,
          id: derivedEventId(BRIDGE, event.id, "WarehouseOrderReceived"),
          data: {
            orderId,
            shipmentId: typeof data?.shipmentId === "string" ? data.shipmentId : null,
            carrier: typeof data?.carrier === "string" ? data.carrier : null,
          },
        });
      });
    },
  };
}

export function warehouseService(context: ServiceContext): DemoService {
  return {
    name: WAREHOUSE,
    cluster: "warehouse",
    topics: [WAREHOUSE_TOPICS.warehouseOrders],
    concurrency: 3,
    async handle(event) {
      const orderId = orderIdOf(event);
      if (event.type !== "WarehouseOrderReceived" || !orderId) return;
      await handleOnce(context, WAREHOUSE, event, async (_tx, send) => {
        const dock = DOCKS[Math.floor(context.random() * DOCKS.length)]!;
        send(WAREHOUSE_TOPICS.parcels, {
          source: WAREHOUSE,
          type: "ParcelDispatched",
          orderId,
          id: derivedEventId(WAREHOUSE, event.id, "ParcelDispatched"),
          data: { orderId, dock },
        });
      });
    },
  };
}
