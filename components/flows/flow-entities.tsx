"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { entityHref } from "@/lib/api-schemas/entities";
import type { FlowEntities, FlowEntity } from "@/lib/api-schemas/flows";
import type { FlowWindow } from "@/lib/flows";
import { formatCount } from "@/lib/format-number";
import { stepName } from "./format";
import { ENTITY_OUTCOME_LABELS, StuckNote } from "@/components/timeline/entity-flows";
import type { FlowSelection } from "./to-flow";
import styles from "./flows.module.css";

/** Entities per page: enough to pick some, few enough to read at once. */
export const ENTITIES_PAGE_SIZE = 50;

/** `GET /api/flows/<kind>/entities` for a selection (lib/api-schemas/flows.ts flowEntitiesQuerySchema). */
export function flowEntitiesUrl(kind: string, window: FlowWindow, selection: FlowSelection, cursor: string | null = null): string {
  const params = new URLSearchParams({ window });
  if ("outcome" in selection) params.set("outcome", selection.outcome);
  else if ("step" in selection) params.set("step", selection.step);
  else {
    params.set("from", selection.from);
    params.set("to", selection.to);
  }
  params.set("limit", String(ENTITIES_PAGE_SIZE));
  if (cursor) params.set("cursor", cursor);
  return `/api/flows/${encodeURIComponent(kind)}/entities?${params.toString()}`;
}

async function fetchPage(url: string): Promise<FlowEntities> {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { message?: string } | null;
    throw new Error(body?.message ?? `the server answered ${response.status}`);
  }
  return (await response.json()) as FlowEntities;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type State =
  | { status: "loading"; entities: FlowEntity[] }
  | { status: "done"; entities: FlowEntity[]; nextCursor: string | null }
  | { status: "failed"; entities: FlowEntity[]; error: string; retryCursor: string | null };

/**
 * The entities behind a step or a transition, newest last step first, each linking to its
 * timeline; further pages on demand (nextCursor).
 */
export function FlowEntitiesList({ kind, window, selection, title }: { kind: string; window: FlowWindow; selection: FlowSelection; title: string }) {
  const [state, setState] = useState<State>({ status: "loading", entities: [] });

  // The first page: the list is keyed by its selection (a new one mounts a new list), so it starts loading.
  useEffect(() => {
    let current = true;
    fetchPage(flowEntitiesUrl(kind, window, selection)).then(
      (page) => current && setState({ status: "done", entities: page.entities, nextCursor: page.nextCursor }),
      (error: unknown) => current && setState({ status: "failed", entities: [], error: errorText(error), retryCursor: null }),
    );
    return () => {
      current = false;
    };
  }, [kind, window, selection]);

  /** The next page (or the failed one again), after what is shown. */
  const loadMore = async (cursor: string | null, before: FlowEntity[]) => {
    setState({ status: "loading", entities: before });
    try {
      const page = await fetchPage(flowEntitiesUrl(kind, window, selection, cursor));
      setState({ status: "done", entities: [...before, ...page.entities], nextCursor: page.nextCursor });
    } catch (error) {
      setState({ status: "failed", entities: before, error: errorText(error), retryCursor: cursor });
    }
  };

  const { entities } = state;
  return (
    <section className={styles.entities} aria-label={title}>
      <h2 className={styles.entitiesTitle}>{title}</h2>
      {entities.length > 0 && (
        <ul className={styles.entityList} aria-label="Entities">
          {entities.map((entity) => (
            <li key={entity.entityKey}>
              <Link href={entityHref(entity.entityKey)}>{entity.entityKey}</Link>
              <span className={styles.muted}>
                {" "}
                · {ENTITY_OUTCOME_LABELS[entity.outcome]} · {formatCount(entity.steps)} {entity.steps === 1 ? "step" : "steps"} · last: {stepName(entity.lastStep)} at{" "}
                <time dateTime={entity.lastAt} title={entity.lastAt}>
                  {new Date(entity.lastAt).toLocaleString()}
                </time>
              </span>
              {entity.stuck ? <StuckNote stuck={entity.stuck} /> : null}
            </li>
          ))}
        </ul>
      )}
      {state.status === "loading" && <p role="status">Loading entities…</p>}
      {state.status === "done" && entities.length === 0 && <p>No entity in this window.</p>}
      {state.status === "done" && state.nextCursor !== null && (
        <button type="button" onClick={() => void loadMore(state.nextCursor, entities)}>
          More entities
        </button>
      )}
      {state.status === "failed" && (
        <p role="alert" className={styles.error}>
          Could not load the entities: {state.error}{" "}
          <button type="button" onClick={() => void loadMore(state.retryCursor, entities)}>
            Try again
          </button>
        </p>
      )}
    </section>
  );
}
