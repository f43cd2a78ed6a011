import { bearer, request } from '../shared/api.ts';

/**
 * The restaurant's order history as a file. A link cannot carry the bearer token, so the page fetches
 * the export and hands the browser the result to save.
 */
export async function downloadOrderHistory(token: string, restaurant: { id: string; name: string }) {
  const res = await request(`/v1/restaurants/${restaurant.id}/orders/export?format=csv`, { headers: bearer(token) });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  const slug = restaurant.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  a.download = `${slug || 'restaurant'}-orders-${new Date().toISOString().slice(0, 10)}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  // After the browser has taken the file.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
