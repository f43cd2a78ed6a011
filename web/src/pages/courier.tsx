import { CourierApp } from '../courier/courier-app.tsx';
import { RolePage, mount } from '../shared/ui.tsx';

mount(<RolePage account="courier" title="Courier">{(signed, signOut) => <CourierApp signed={signed} signOut={signOut} />}</RolePage>);
