"""Distances and geohash cells on the sphere. Pure: no I/O.

A restaurant is indexed by the geohash cell (at ``CELL_PRECISION``) of its location. A
lookup reads the cells that meet the bounding box of a circle of ``MAX_DELIVERY_RADIUS_KM``
around the point: a restaurant that delivers there lies inside that circle, so inside one
of those cells. A precision-4 cell is 0.176° of latitude (19.5 km) by 0.352° of longitude
(39 km at the equator, 27 km at 45°), so the box meets at most 3 x 3 cells up to 67° of
latitude (a few more columns further north): the number of reads depends on where the
point is, never on how many restaurants there are.
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180
MAX_DELIVERY_RADIUS_KM = 15.0
# Where deliveries are served: beyond, a degree of longitude is too short for the cells.
MAX_LATITUDE = 80.0
CELL_PRECISION = 4
_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lng2 - lng1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _bits(precision: int) -> tuple[int, int]:
    """(latitude bits, longitude bits) of a geohash of ``precision`` characters."""
    total = 5 * precision
    return total // 2, total - total // 2


def _row_col(lat: float, lng: float, precision: int) -> tuple[int, int]:
    lat_bits, lng_bits = _bits(precision)
    rows, cols = 1 << lat_bits, 1 << lng_bits
    row = min(rows - 1, max(0, math.floor((lat + 90) / 180 * rows)))
    col = math.floor((lng + 180) / 360 * cols) % cols
    return row, col


def _cell(row: int, col: int, precision: int) -> str:
    """The geohash of the cell at (row, col): the bits of longitude and latitude interleaved,
    longitude first, five to a character."""
    lat_bits, lng_bits = _bits(precision)
    value = 0
    for i in range(5 * precision):
        if i % 2 == 0:
            bit = (col >> (lng_bits - 1 - i // 2)) & 1
        else:
            bit = (row >> (lat_bits - 1 - i // 2)) & 1
        value = (value << 1) | bit
    return "".join(_BASE32[(value >> (5 * (precision - 1 - k))) & 31] for k in range(precision))


def geohash(lat: float, lng: float, precision: int = CELL_PRECISION) -> str:
    return _cell(*_row_col(lat, lng, precision), precision)


def cells_covering(lat: float, lng: float, radius_km: float, precision: int = CELL_PRECISION) -> list[str]:
    """Every cell that meets the bounding box of the circle of ``radius_km`` around the point
    (longitude wraps at the antimeridian)."""
    angle = radius_km / EARTH_RADIUS_KM
    dlat = math.degrees(angle)
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    reach = math.sin(angle) / math.cos(math.radians(lat))
    # The widest point of a circle on the sphere is off its centre's parallel: asin gives it.
    dlng = 180.0 if abs(lat) + dlat >= 90 or reach >= 1 else math.degrees(math.asin(reach))
    cols = 1 << _bits(precision)[1]
    first_row, first_col = _row_col(south, lng - dlng, precision)
    last_row, _ = _row_col(north, lng, precision)
    # Columns are counted, not read from the east edge, so a box across the antimeridian wraps.
    span = (
        cols
        if dlng >= 180
        else math.floor((lng + dlng + 180) / 360 * cols) - math.floor((lng - dlng + 180) / 360 * cols) + 1
    )
    return [
        _cell(row, (first_col + step) % cols, precision)
        for row in range(first_row, last_row + 1)
        for step in range(min(span, cols))
    ]
