-- AlterTable
ALTER TABLE "events" ADD COLUMN     "delivery_fingerprint" INTEGER;

-- AlterTable
ALTER TABLE "flow_entities" ADD COLUMN     "step_fingerprint" INTEGER[],
ADD COLUMN     "step_place" INTEGER[];

-- AlterTable
ALTER TABLE "flow_inbox" ADD COLUMN     "fingerprint" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "place" TEXT NOT NULL DEFAULT '';

-- CreateTable
CREATE TABLE "flow_places" (
    "id" SERIAL NOT NULL,
    "place" TEXT NOT NULL,

    CONSTRAINT "flow_places_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "flow_places_place_key" ON "flow_places"("place");

