import { CustomerApp } from '../customer/customer-app.tsx';
import { RolePage, mount } from '../shared/ui.tsx';

mount(<RolePage account="customer" title="Order food">{(signed, signOut) => <CustomerApp signed={signed} signOut={signOut} />}</RolePage>);
