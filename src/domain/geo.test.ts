import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundingBox, distanceKm, offset } from './geo.ts';

const mumbai = { lat: 19.076, lng: 72.8777 };

describe('geo', () => {
  it('measures Mumbai to Pune at about 120 km', () => {
    const km = distanceKm(mumbai, { lat: 18.5204, lng: 73.8567 });
    assert.ok(km > 115 && km < 125, `got ${km}`);
  });

  it('puts an offset point at the requested distance', () => {
    for (const bearing of [0, 45, 135, 270]) {
      const p = offset(mumbai, bearing, 5);
      assert.ok(Math.abs(distanceKm(mumbai, p) - 5) < 0.001);
    }
  });

  it('builds a bounding box that contains every point of the circle', () => {
    const box = boundingBox(mumbai, 8);
    for (let bearing = 0; bearing < 360; bearing += 15) {
      const p = offset(mumbai, bearing, 7.99);
      assert.ok(p.lat >= box.minLat && p.lat <= box.maxLat && p.lng >= box.minLng && p.lng <= box.maxLng);
    }
  });
});
