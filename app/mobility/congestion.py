"""The congestion level residents see on a road segment, from its TrafficFlowObserved values.

What the Smart Data Models define: ``congested`` flags whether there was a congestion in the
lane during the observation period; ``occupancy`` is the fraction of that period a vehicle
was over the detector; ``averageVehicleSpeed`` is in km/h. The model carries no free-flow
speed, so a speed can only be judged against one reference for every road; occupancy needs
none (it grows with the density of vehicles whatever the road's speed limit), so it comes
first.

- ``congested: true`` is the source's verdict: ``heavy``. ``congested: false`` says the lane
  was not congested: the measures may say ``moderate`` at most. The flag absent says nothing
  (many sources never compute it).
- Occupancy: under 0.15 (about 23 vehicles per km and lane, each covering 6.5 m of detector
  and road) ``free``, under 0.35 ``moderate``, else ``heavy``.
- Else the speed against ``TRAFFIC_FREE_FLOW_SPEED_KMH``: 70% of it or more ``free``, 40% or
  more ``moderate``, else ``heavy`` (the three bands of the Highway Capacity Manual's urban
  street levels of service: A-B, C-D, E-F).
- Nothing to judge by: ``free`` when the source says not congested, else ``unknown``.
"""

LEVELS = ("free", "moderate", "heavy", "unknown")
# Detector occupancy from which traffic is moderate, then heavy.
OCCUPANCY_MODERATE = 0.15
OCCUPANCY_HEAVY = 0.35
# Share of the free-flow speed from which traffic is free, else moderate (below: heavy).
SPEED_FREE = 0.7
SPEED_MODERATE = 0.4

RULE = (
    f"{', '.join(LEVELS[:-1])} or {LEVELS[-1]}: heavy when the source says congested; else "
    f"from the detector occupancy (under {OCCUPANCY_MODERATE} free, under {OCCUPANCY_HEAVY} "
    "moderate, else heavy); else from the average speed against "
    f"TRAFFIC_FREE_FLOW_SPEED_KMH ({SPEED_FREE:.0%} or more free, {SPEED_MODERATE:.0%} or "
    "more moderate, else heavy); at most moderate when the source says not congested (and "
    "free when that is all it says); unknown when nothing is given"
)


def congestion_level(
    congested: bool | None, occupancy: float | None, speed: float | None, free_flow: float
) -> str:
    """The level of :data:`RULE` (``free_flow``: the reference speed, km/h)."""
    if congested:
        return "heavy"
    level = _by_occupancy(occupancy) or _by_speed(speed, free_flow)
    if level is None:
        return "free" if congested is False else "unknown"
    if congested is False and level == "heavy":
        return "moderate"
    return level


def _by_occupancy(occupancy: float | None) -> str | None:
    if occupancy is None:
        return None
    if occupancy < OCCUPANCY_MODERATE:
        return "free"
    return "moderate" if occupancy < OCCUPANCY_HEAVY else "heavy"


def _by_speed(speed: float | None, free_flow: float) -> str | None:
    if speed is None or free_flow <= 0:
        return None
    ratio = speed / free_flow
    if ratio >= SPEED_FREE:
        return "free"
    return "moderate" if ratio >= SPEED_MODERATE else "heavy"
