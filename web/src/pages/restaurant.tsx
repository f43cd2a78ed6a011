import { RestaurantBoard } from '../restaurant/board.tsx';
import { RolePage, mount } from '../shared/ui.tsx';

mount(<RolePage account="restaurant" title="Restaurant board">{(signed, signOut) => <RestaurantBoard signed={signed} signOut={signOut} />}</RolePage>);
