import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { jsonResponse, stubFetch } from "@/components/test-support";
import { BulkReplayButton } from "./bulk-replay";

vi.mock("next/navigation", () => ({ useRouter: () => ({ refresh: () => {} }) }));

/** An NDJSON answer whose bytes the test sends when it chooses, cut wherever it likes. */
function streamedAnswer() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const bytes = new TextEncoder();
  return {
    response: new Response(body, { headers: { "content-type": "application/x-ndjson" } }),
    send: (text: string | Uint8Array) => controller.enqueue(typeof text === "string" ? bytes.encode(text) : text),
    end: () => controller.close(),
  };
}

const line = (value: unknown) => `${JSON.stringify(value)}\n`;

async function openDialog(target: Parameters<typeof BulkReplayButton>[0]["target"] = { ids: ["7", "8", "9"] }) {
  const user = userEvent.setup();
  render(<BulkReplayButton target={target} label="Replay 3 selected" />);
  await user.click(screen.getByRole("button", { name: "Replay 3 selected" }));
  return { user, dialog: screen.getByRole("dialog", { name: "Replay 3 selected" }) };
}

describe("BulkReplayButton", () => {
  it("shows progress as each line arrives, lines cut anywhere, and the results with where each went", async () => {
    const answer = streamedAnswer();
    const requests = stubFetch(() => answer.response);
    const { user, dialog } = await openDialog();
    const rate = within(dialog).getByRole("spinbutton", { name: "Messages per second" });
    await user.clear(rate);
    await user.type(rate, "2");
    await user.click(within(dialog).getByRole("button", { name: "Replay now" }));
    expect(requests).toEqual([{ url: "/api/dead-letters/replay", method: "POST", body: { ids: ["7", "8", "9"], dryRun: false, ratePerSecond: 2 } }]);

    const first = line({ type: "item", done: 1, total: 3, item: { id: "7", status: "already-replayed" } });
    answer.send(first.slice(0, 20));
    answer.send(first.slice(20));
    expect((await within(dialog).findByRole("status")).textContent).toBe("1 of 3 processed");
    expect(within(dialog).getByRole("button", { name: "Close" })).toHaveProperty("disabled", true);

    // Two lines in one chunk, the second cut inside a multi-byte character.
    const second = line({ type: "item", done: 2, total: 3, item: { id: "8", status: "sent", targetTopic: "payments", partition: 0, offset: "41" } });
    const third = new TextEncoder().encode(line({ type: "item", done: 3, total: 3, item: { id: "9", status: "failed", targetTopic: "payments", error: "topic payments → not found" } }));
    const cut = third.indexOf(0xe2) + 1;
    answer.send(second);
    await within(dialog).findByText("2 of 3 processed");
    answer.send(third.subarray(0, cut));
    answer.send(third.subarray(cut));
    await within(dialog).findByText("3 of 3 processed");
    answer.send(line({ type: "summary", total: 3, dryRun: false, counts: { "already-replayed": 1, sent: 1, failed: 1 } }));
    answer.end();

    expect(await within(dialog).findByText("3 dead letter(s): 1 already-replayed, 1 sent, 1 failed")).toBeTruthy();
    const rows = within(within(dialog).getByRole("table", { name: "Replay results" })).getAllByRole("row").slice(1);
    expect(rows.map((row) => within(row).getAllByRole("cell").map((cell) => cell.textContent))).toEqual([
      ["#7", "already-replayed", ""],
      ["#8", "sent", "→ payments, partition 0, offset 41"],
      ["#9", "failed", "→ payments: topic payments → not found"],
    ]);
    expect(within(dialog).getByRole("button", { name: "Replay now" })).toHaveProperty("disabled", true);
  });

  it("a dry run of a group lists what would be sent and says nothing was sent", async () => {
    const answer = streamedAnswer();
    const requests = stubFetch(() => answer.response);
    const { user, dialog } = await openDialog({ group: { originTopic: "payments", errorClass: "CardDeclined" } });
    await user.click(within(dialog).getByRole("button", { name: "Dry run" }));
    expect(requests.map((r) => r.body)).toEqual([{ group: { originTopic: "payments", errorClass: "CardDeclined" }, dryRun: true, ratePerSecond: 10 }]);
    answer.send(line({ type: "item", done: 1, total: 2, item: { id: "7", status: "would-send", targetTopic: "payments", replayOf: "payments-dlq/0/3" } }));
    answer.send(line({ type: "item", done: 2, total: 2, item: { id: "8", status: "would-skip", reason: "it is replayed" } }));
    answer.send(line({ type: "summary", total: 2, dryRun: true, counts: { "would-send": 1, "would-skip": 1 } }));
    answer.end();

    expect(await within(dialog).findByText("Dry run, nothing sent. 2 dead letter(s): 1 would-send, 1 would-skip")).toBeTruthy();
    expect(within(dialog).getByRole("status").textContent).toBe("2 of 2 checked");
    const table = within(dialog).getByRole("table", { name: "What would be sent" });
    expect(within(table).getByRole("row", { name: "#8 would-skip it is replayed" })).toBeTruthy();
    expect(within(dialog).getByRole("button", { name: "Replay now" })).toHaveProperty("disabled", false);
  });

  it("reads the last line when the answer ends without a newline", async () => {
    const answer = streamedAnswer();
    stubFetch(() => answer.response);
    const { user, dialog } = await openDialog();
    await user.click(within(dialog).getByRole("button", { name: "Replay now" }));
    answer.send(line({ type: "item", done: 1, total: 1, item: { id: "7", status: "sent", targetTopic: "payments", partition: 1, offset: "5" } }));
    answer.send(JSON.stringify({ type: "summary", total: 1, dryRun: false, counts: { sent: 1 } }));
    answer.end();
    expect(await within(dialog).findByText("1 dead letter(s): 1 sent")).toBeTruthy();
  });

  it("says in words why it stopped: an error line mid-run, a refusal, an unreachable server", async () => {
    const answer = streamedAnswer();
    stubFetch(() => answer.response);
    const { user, dialog } = await openDialog();
    await user.click(within(dialog).getByRole("button", { name: "Replay now" }));
    answer.send(line({ type: "item", done: 1, total: 3, item: { id: "7", status: "sent", targetTopic: "payments", partition: 0, offset: "1" } }));
    answer.send(line({ type: "error", message: "the database is unreachable" }));
    answer.end();
    expect((await within(dialog).findByRole("alert")).textContent).toBe("stopped: the database is unreachable");
    expect(within(dialog).getByRole("status").textContent).toBe("1 of 3 processed");

    stubFetch(() => jsonResponse({ error: "validation", message: "ratePerSecond: at most 1000" }, 422));
    await user.click(within(dialog).getByRole("button", { name: "Dry run" }));
    expect((await within(dialog).findByRole("alert")).textContent).toBe("Bulk replay failed: ratePerSecond: at most 1000");

    stubFetch(() => {
      throw new TypeError("Failed to fetch");
    });
    await user.click(within(dialog).getByRole("button", { name: "Replay now" }));
    expect((await within(dialog).findByRole("alert")).textContent).toBe("Bulk replay failed: Failed to fetch");
    expect(within(dialog).queryByRole("table")).toBeNull();
  });
});
