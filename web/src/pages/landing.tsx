import { PAGES, Shell, mount, useDemo } from '../shared/ui.tsx';

const ABOUT: Record<(typeof PAGES)[number]['href'], string> = {
  '/ops': 'The city live on a map, and the server watching itself: requests, latency, event-loop delay, partners.',
  '/customer': 'Find restaurants near you, order, and watch the order come to your door.',
  '/restaurant': 'Incoming orders as they arrive: accept, prepare, hand over; download the order history.',
  '/courier': 'Go on shift, take offers, pick up and deliver, with a simulated route or this device’s location.',
};

function Landing() {
  const demo = useDemo();
  return (
    <Shell title="Welcome">
      <p>dabba delivers food: customers order, restaurants prepare, couriers carry it, and everyone watches it happen live.</p>
      <div class="tiles">
        {PAGES.map((p) => (
          <a key={p.href} class="tile card" href={p.href}>
            <h2>{p.title}</h2>
            <p>{ABOUT[p.href]}</p>
            <p class="muted">For {p.role} accounts.</p>
          </a>
        ))}
      </div>
      {demo && (
        <section class="card" aria-labelledby="demo-title">
          <h2 id="demo-title">Demo accounts</h2>
          <p>
            This server runs the demo city. Every account’s password is <code>{demo.password}</code>.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(demo.accounts).map(([role, email]) => (
                <tr key={role}>
                  <td>
                    <code>{email}</code>
                  </td>
                  <td>{role}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </Shell>
  );
}

mount(<Landing />);
