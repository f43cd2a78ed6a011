import { Dashboard } from '../ops/dashboard.tsx';
import { RolePage, mount } from '../shared/ui.tsx';

mount(<RolePage account="admin" title="Ops dashboard">{(signed, signOut) => <Dashboard signed={signed} signOut={signOut} />}</RolePage>);
