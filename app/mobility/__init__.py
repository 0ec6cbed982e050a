"""What residents read of the feeds: parkings, bike stations, traffic, transit vehicles."""
