import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { jsonResponse, stubFetch } from "@/components/test-support";
import { ReplayPanel, type ReplayPanelProps } from "./replay-panel";

vi.mock("next/navigation", () => ({ useRouter: () => ({ refresh: () => {} }) }));

const props: ReplayPanelProps = {
  deadLetterId: "42",
  status: "new",
  originTopic: "payments",
  originTopicHint: null,
  valueText: '{"orderId":"ord-1"}',
  headers: [{ key: "traceparent", value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }],
  previous: [],
};

const sent = { status: "sent", targetTopic: "payments", partition: 2, offset: "17" };

async function openDialog(overrides: Partial<ReplayPanelProps> = {}) {
  const user = userEvent.setup();
  render(<ReplayPanel {...props} {...overrides} />);
  await user.click(screen.getByRole("button", { name: "Replay" }));
  return { user, dialog: screen.getByRole("dialog") };
}

describe("ReplayPanel", () => {
  it("says which exchange and routing key a RabbitMQ replay was published with", async () => {
    stubFetch(() => jsonResponse({ status: "sent", targetTopic: "orders", partition: 0, offset: null, routingKey: "order.placed" }));
    const { user, dialog } = await openDialog({ originTopic: "orders" });
    await user.click(within(dialog).getByRole("button", { name: "Replay to orders" }));
    expect((await screen.findByRole("status")).textContent).toBe("Replayed to exchange orders, routing key order.placed.");
  });

  it("asks before sending, names the topic, sends nothing else, and says where it went", async () => {
    const requests = stubFetch(() => jsonResponse(sent));
    const { user, dialog } = await openDialog();
    expect(within(dialog).getByRole("heading")).toHaveProperty("textContent", "Replay this dead letter?");
    expect(requests).toEqual([]);

    await user.click(within(dialog).getByRole("button", { name: "Replay to payments" }));
    expect(requests).toEqual([{ url: "/api/dead-letters/42/replay", method: "POST", body: {} }]);
    expect((await screen.findByRole("status")).textContent).toBe("Replayed to payments, partition 2, offset 17.");
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("sends the chosen topic and the edited value and headers, and warns that the audit log keeps the changes", async () => {
    const requests = stubFetch(() => jsonResponse({ ...sent, targetTopic: "payments-retry" }));
    const { user, dialog } = await openDialog();
    const topic = within(dialog).getByRole("textbox", { name: "Target topic" });
    await user.clear(topic);
    await user.type(topic, "payments-retry");
    await user.click(within(dialog).getByRole("checkbox", { name: "Edit the value before sending" }));
    const value = within(dialog).getByRole("textbox", { name: "Value to send" });
    await user.clear(value);
    await user.paste('{"orderId":"ord-2"}');
    await user.click(within(dialog).getByRole("checkbox", { name: "Edit the headers before sending" }));
    const headers = within(dialog).getByRole("textbox", { name: "Headers to send" });
    await user.clear(headers);
    await user.paste('[{"key":"tenant","value":"eu"}]');
    expect(within(dialog).getByText("The audit log records what you changed.")).toBeTruthy();

    await user.click(within(dialog).getByRole("button", { name: "Replay to payments-retry" }));
    expect(requests.map((r) => r.body)).toEqual([
      { topic: "payments-retry", value: '{"orderId":"ord-2"}', headers: [{ key: "tenant", value: "eu" }] },
    ]);
    expect((await screen.findByRole("status")).textContent).toBe("Replayed to payments-retry, partition 2, offset 17.");
  });

  it("edits a Schema Registry value as its decoded JSON, says which schema id re-encodes it, and shows the field a misfit names", async () => {
    const decoded = '{\n  "orderId": "ord-1",\n  "amount": "12.50"\n}';
    const requests = stubFetch(() =>
      jsonResponse(
        { error: "validation", field: "value", message: 'amount: expected a decimal with at most 2 digits after the point, got "12.345"' },
        422,
      ),
    );
    const { user, dialog } = await openDialog({ valueText: decoded, valueSchemaId: 7 });
    await user.click(within(dialog).getByRole("checkbox", { name: "Edit the value (as JSON) before sending" }));
    const value = within(dialog).getByRole("textbox", { name: "Value to send" });
    expect((value as HTMLTextAreaElement).value).toBe(decoded);
    expect(within(dialog).getByText(/re-encoded with Schema Registry schema id 7 before it is sent/)).toBeTruthy();
    await user.clear(value);
    await user.paste('{"orderId":"ord-1","amount":"12.345"}');
    await user.click(within(dialog).getByRole("button", { name: "Replay to payments" }));

    expect(requests.map((r) => r.body)).toEqual([{ value: '{"orderId":"ord-1","amount":"12.345"}' }]);
    expect((await within(dialog).findByRole("alert")).textContent).toBe(
      'Not replayed: amount: expected a decimal with at most 2 digits after the point, got "12.345"',
    );
    // Still open, the value kept and focused for the correction.
    expect(document.activeElement).toBe(within(dialog).getByRole("textbox", { name: "Value to send" }));
  });

  it("says so and sends nothing when the edited headers are not JSON", async () => {
    const requests = stubFetch(() => jsonResponse(sent));
    const { user, dialog } = await openDialog();
    await user.click(within(dialog).getByRole("checkbox", { name: "Edit the headers before sending" }));
    await user.type(within(dialog).getByRole("textbox", { name: "Headers to send" }), "oops");
    await user.click(within(dialog).getByRole("button", { name: "Replay to payments" }));
    expect(screen.getByRole("alert").textContent).toMatch(/^The headers are not valid JSON/);
    expect(requests).toEqual([]);
  });

  it("shows an earlier replay before replaying again, and tells the server how many it saw", async () => {
    const requests = stubFetch(() => jsonResponse(sent));
    const previous = [{ requestedBy: "alice", requestedAt: "2026-11-23T08:41:27.000Z", targetTopic: "payments", outcome: "failed_again" }];
    const { user, dialog } = await openDialog({ status: "replayed", previous });
    expect(within(dialog).getByRole("heading").textContent).toBe("Replay again?");
    expect(within(dialog).getByRole("note").textContent).toBe(
      "Already replayed by alice at 2026-11-23 08:41:27 UTC to payments (failed again). Replaying again sends the message once more.",
    );
    await user.click(within(dialog).getByRole("button", { name: "Replay again" }));
    expect(requests.map((r) => r.body)).toEqual([{ again: true, seen: 1 }]);
  });

  it("when someone replayed it meanwhile, says who and asks again before a second send", async () => {
    const meanwhile = [{ requestedBy: "bob", requestedAt: "2026-11-23T09:00:00.000Z", targetTopic: "payments", status: "sent" }];
    let answers = 0;
    const requests = stubFetch(() => (answers++ === 0 ? jsonResponse({ status: "already-replayed", previous: meanwhile }, 409) : jsonResponse(sent)));
    const { user, dialog } = await openDialog();
    await user.click(within(dialog).getByRole("button", { name: "Replay to payments" }));

    expect((await screen.findByRole("alert")).textContent).toBe("Someone replayed it meanwhile: see below before replaying again.");
    expect(within(dialog).getByRole("heading").textContent).toBe("Replay again?");
    expect(within(dialog).getByRole("note").textContent).toMatch(/by bob at 2026-11-23 09:00:00 UTC to payments \(sent, not yet consumed\)/);
    await user.click(within(dialog).getByRole("button", { name: "Replay again" }));
    expect(requests.map((r) => r.body)).toEqual([{}, { again: true, seen: 1 }]);
  });

  it("puts the server's reason for a refused replay into words, once, in the dialog", async () => {
    stubFetch(() => jsonResponse({ error: "unauthorized", message: "sign in as an admin to replay" }, 401));
    const { user, dialog } = await openDialog();
    await user.click(within(dialog).getByRole("button", { name: "Replay to payments" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("Replay failed: sign in as an admin to replay");
    expect(within(dialog).getByRole("alert")).toBe(alert);
  });

  it("says the replay failed when the server cannot be reached, and when its answer is not JSON", async () => {
    stubFetch(() => {
      throw new TypeError("Failed to fetch");
    });
    const { user, dialog } = await openDialog();
    await user.click(within(dialog).getByRole("button", { name: "Replay to payments" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Replay failed: Failed to fetch");

    stubFetch(() => new Response("Bad Gateway", { status: 502 }));
    await user.click(within(dialog).getByRole("button", { name: "Replay to payments" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Replay failed: the server answered 502");
  });

  it("cannot replay without a target topic when the original one is unknown", async () => {
    stubFetch(() => jsonResponse(sent));
    const { dialog } = await openDialog({ originTopic: null, originTopicHint: "payments" });
    expect(within(dialog).getByText("Its original topic is unknown (the DLQ's name suggests payments): choose one.")).toBeTruthy();
    expect(within(dialog).getByRole("button", { name: "Replay to …" })).toHaveProperty("disabled", true);
  });

  it("discards and resolves, and says why when the server refuses", async () => {
    const user = userEvent.setup();
    const requests = stubFetch((request) =>
      request.url.endsWith("/discard") ? jsonResponse({ error: "not-found", message: "no dead letter 42" }, 404) : jsonResponse({ status: "resolved" }),
    );
    render(<ReplayPanel {...props} />);
    await user.click(screen.getByRole("button", { name: "Discard" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Could not discard: no dead letter 42");
    await user.click(screen.getByRole("button", { name: "Mark resolved" }));
    expect((await screen.findByRole("status")).textContent).toBe("Marked resolved.");
    expect(requests.map((r) => [r.method, r.url])).toEqual([
      ["POST", "/api/dead-letters/42/discard"],
      ["POST", "/api/dead-letters/42/resolve"],
    ]);
  });
});
